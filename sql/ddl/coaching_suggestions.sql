-- Generated from udfs/schemas/suggestion.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `coaching_suggestions` (
  `suggestion_id` STRING COMMENT 'Deterministic id: sha256 hex of conversation_id, event_id, kind, template or rule id, policy_version and model versions.',
  `conversation_id` STRING COMMENT 'Conversation the suggestion is for.',
  `event_id` STRING COMMENT 'The turn that caused the suggestion.',
  `agent_id` STRING COMMENT 'Agent the suggestion is shown to.',
  `customer_id` STRING COMMENT 'Customer of the conversation.',
  `channel` STRING COMMENT 'Channel of the conversation.',
  `kind` STRING COMMENT 'What the card is.',
  `status` STRING COMMENT 'Outcome: shown to the agent, blocked by a rule, superseded by a better one, or shadow (computed by a challenger model, never shown).',
  `text` STRING COMMENT 'Text of the suggestion (never contains PII: blocked suggestions carry masked text).',
  `confidence` DOUBLE COMMENT 'Confidence of the suggestion, 0..1.',
  `intent` STRING COMMENT 'Intent the suggestion answers.',
  `template_id` STRING COMMENT 'Response-library template id, or null for rule-made cards (compliance alerts, escalations).',
  `human_review` BOOLEAN COMMENT 'A human must review before anything is sent (high-risk intent or vulnerable customer).',
  `degraded` BOOLEAN COMMENT 'The deep tier was unavailable: the fast tier chose the template.',
  `rules_fired` ARRAY<STRING> COMMENT 'Rules that fired for this suggestion, e.g. policy.forbidden_phrase:guarantee.',
  `model_versions` MAP<STRING, STRING> COMMENT 'Versions of the models and response library used, name -> version.',
  `policy_id` STRING COMMENT 'Active policy id, or null if none was active.',
  `policy_version` STRING COMMENT 'Active policy version, or null if none was active.',
  `latency_ms` MAP<STRING, DOUBLE> COMMENT 'Latency per pipeline stage in milliseconds, stage -> ms.',
  `created_at` STRING COMMENT 'When the job produced the suggestion (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'A coaching card for the agent (topic coaching.suggestions, key conversation_id); consumers de-duplicate on suggestion_id.'
WITH (
  'connector' = 'kafka',
  'topic' = 'coaching.suggestions',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-coaching_suggestions',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
