-- name: blocked_by_rule
-- description: Suggestions blocked by rule R of policy version V, with what they would have said.
-- param rule_id (str): the guardrail rule id (as in rules_fired)
-- param policy_version (str): the policy version, e.g. 2026.11.1
-- param as_of_version (int, optional): read the tables as of this Delta version
-- param as_of_timestamp (timestamp, optional): read the tables as of this time (ISO-8601 UTC)
SELECT
    d.suggestion_id,
    d.conversation_id,
    d.event_ts,
    d.policy_id,
    d.policy_version,
    d.rule_id,
    s.kind,
    s.text AS blocked_text,
    s.rules_fired,
    s.template_id
FROM policy_decisions d
JOIN suggestions s ON s.audit_id = d.audit_id
WHERE d.blocked AND d.rule_id = :rule_id AND d.policy_version = :policy_version
ORDER BY d.event_ts, d.suggestion_id
