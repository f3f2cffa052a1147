"""The audit lake: `coaching.audit` and `coaching.dlq` landed in append-only, hash-chained Delta tables.

Pure logic: `tables` (the table layout and its reference), `rows` (records flattened into rows), `chain`
(the hash chain), `batching` (micro-batch policy and exactly-once offsets), `quality` (the Great
Expectations suites and per-batch gate) and `sql` (named-query headers, safe binding, read-only check).
On disk: `store` (the Delta tables), `writer` (the Kafka -> Delta service, `python -m auditlake.writer`),
`deltalog` (the Delta log as verify reads it), `verify` (chain and log verification, vacuum), `validate`
(whole-table suites, Data Docs) and `query` (named and ad-hoc SQL). It builds on `udfs/` (settings
included) and `lineage/`; the CLI uses it, `jobs/` does not.
"""
