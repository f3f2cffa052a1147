-- Generated from udfs/schemas/alert.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `coaching_alerts` (
  `alert_id` STRING COMMENT 'Deterministic id: sha256 hex of conversation_id, event_id, alert_type, detail and policy_version.',
  `alert_type` STRING COMMENT 'Why the supervisor is alerted.',
  `severity` STRING COMMENT 'How urgent the alert is.',
  `conversation_id` STRING COMMENT 'Conversation the alert is about.',
  `event_id` STRING COMMENT 'The turn that raised the alert.',
  `agent_id` STRING COMMENT 'Agent handling the conversation.',
  `customer_id` STRING COMMENT 'Customer of the conversation.',
  `supervisor_id` STRING COMMENT 'Supervisor of the agent, from agent.state, or null if unknown.',
  `channel` STRING COMMENT 'Channel of the conversation.',
  `intent` STRING COMMENT 'Intent of the conversation when the alert was raised.',
  `message` STRING COMMENT 'Human-readable reason (never contains PII).',
  `rules_fired` ARRAY<STRING> COMMENT 'Rules that raised the alert.',
  `human_review` BOOLEAN COMMENT 'The conversation needs human review.',
  `scores` ROW<`intent` STRING, `intent_confidence` DOUBLE, `sentiment` DOUBLE, `escalation_risk` DOUBLE, `compliance_risk` DOUBLE> COMMENT 'Fast-tier scores of the turn.',
  `policy_id` STRING COMMENT 'Active policy id, or null if none was active.',
  `policy_version` STRING COMMENT 'Active policy version, or null if none was active.',
  `model_versions` MAP<STRING, STRING> COMMENT 'Versions of the models and response library used, name -> version.',
  `created_at` STRING COMMENT 'When the job raised the alert (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'An alert for the agent''s supervisor (topic coaching.alerts, key conversation_id).'
WITH (
  'connector' = 'kafka',
  'topic' = 'coaching.alerts',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-coaching_alerts',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
