-- name: conversation_shown
-- description: Everything shown to the agent in conversation Y, in order, next to the turn it answered.
-- param conversation_id (str): the conversation
-- param as_of_version (int, optional): read the tables as of this Delta version
-- param as_of_timestamp (timestamp, optional): read the tables as of this time (ISO-8601 UTC)
SELECT
    t.seq AS turn_seq,
    t.speaker,
    t.masked_text AS turn_text,
    s.kind,
    s.text AS shown_text,
    s.template_id,
    s.confidence,
    s.rules_fired,
    s.suggestion_id,
    s.event_ts,
    s.created_at
FROM suggestions s
LEFT JOIN turns t ON t.event_id = s.event_id AND t.conversation_id = s.conversation_id
WHERE s.conversation_id = :conversation_id AND s.status = 'shown'
ORDER BY s.event_ts, t.seq, s.suggestion_id
