-- Generated from udfs/schemas/policy.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `coaching_policies` (
  `policy_id` STRING COMMENT 'Id of the policy.',
  `version` STRING COMMENT 'Version of the policy, dotted numbers, e.g. 2026.11.1.',
  `effective_at` STRING COMMENT 'When the policy takes effect (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `description` STRING COMMENT 'What changed in this version.',
  `forbidden_phrases` ARRAY<STRING> COMMENT 'Phrases agents must not say and suggestions must not contain (case-insensitive, whole words).',
  `required_disclosures` MAP<STRING, ARRAY<ROW<`disclosure_id` STRING, `text` STRING, `keywords` ARRAY<STRING>>>> COMMENT 'Disclosures the agent must make, per conversation intent.',
  `channel_limits` ROW<`chat` ROW<`max_chars` BIGINT, `formal` BOOLEAN>, `voice` ROW<`max_chars` BIGINT, `formal` BOOLEAN>, `email` ROW<`max_chars` BIGINT, `formal` BOOLEAN>> COMMENT 'Limits on reply suggestions per channel.',
  `high_risk_intents` ARRAY<STRING> COMMENT 'Intents that get a human-review flag and a supervisor alert instead of an auto-reply; must include legal_threat, fraud_report and vulnerable_customer.',
  `thresholds` ROW<`escalation_risk` DOUBLE, `compliance_risk` DOUBLE, `min_confidence` DOUBLE, `angry_sentiment` DOUBLE, `angry_turns` BIGINT> COMMENT 'Score thresholds of the coaching rules.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'Guardrails of the coaching layer (topic coaching.policies, key policy_id); the newest (effective_at, version) applies from the next turn on.'
WITH (
  'connector' = 'kafka',
  'topic' = 'coaching.policies',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-coaching_policies',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
