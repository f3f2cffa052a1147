-- name: why_suggestion
-- description: Why was suggestion X made: the turn it answered (masked), the fast-tier scores, the policy
--   and model versions, the rules that fired, the template and the input fingerprints. One row per audit
--   record of the suggestion (a suggestion later superseded has two).
-- param suggestion_id (str): the suggestion_id to explain
-- param as_of_version (int, optional): read the tables as of this Delta version
-- param as_of_timestamp (timestamp, optional): read the tables as of this time (ISO-8601 UTC)
SELECT
    s.suggestion_id,
    s.status,
    s.kind,
    s.template_id,
    s.confidence,
    s.text AS suggestion_text,
    s.rules_fired,
    s.human_review,
    s.degraded,
    s.policy_id,
    s.policy_version,
    s.model_versions,
    t.seq AS turn_seq,
    t.speaker,
    t.channel,
    t.masked_text AS turn_text,
    t.intent,
    t.intent_confidence,
    t.sentiment,
    t.escalation_risk,
    t.compliance_risk,
    t.context_missing,
    s.latency_ms,
    s.input_hashes,
    s.event_ts,
    s.created_at,
    s.conversation_id,
    s.audit_id
FROM suggestions s
LEFT JOIN turns t ON t.event_id = s.event_id AND t.conversation_id = s.conversation_id
WHERE s.suggestion_id = :suggestion_id
ORDER BY s.created_at, s.audit_id
