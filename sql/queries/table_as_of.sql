-- name: table_as_of
-- description: A whole table as it was at a Delta version or a point in time (time travel), in chain order.
-- param table (table): suggestions | turns | policy_decisions | feedback | dead_letters | quarantine
-- param as_of_version (int, optional): the Delta version to read
-- param as_of_timestamp (timestamp, optional): the time to read it as of (ISO-8601 UTC)
SELECT *
FROM {table}
ORDER BY date, chain_seq
