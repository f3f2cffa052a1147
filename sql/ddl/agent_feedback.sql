-- Generated from udfs/schemas/feedback.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `agent_feedback` (
  `event_id` STRING COMMENT 'Unique id of this feedback message.',
  `conversation_id` STRING COMMENT 'Conversation the suggestion belongs to.',
  `suggestion_id` STRING COMMENT 'The suggestion_id answered (sha256 hex).',
  `agent_id` STRING COMMENT 'Agent who gave the feedback.',
  `action` STRING COMMENT 'What the agent did.',
  `edited_text` STRING COMMENT 'The text the agent sent instead, for action edited (PII: masked on ingest).',
  `comment` STRING COMMENT 'Optional free-text comment (PII: masked on ingest).',
  `ts` STRING COMMENT 'When the agent acted: ISO-8601 with Z or a UTC offset (2026-11-25T08:00:00.123Z, 2026-11-25T09:00:00+01:00) or epoch milliseconds (1795593600123), normalised at ingest to ISO-8601 UTC with milliseconds; more than 5 minutes after the record''s Kafka timestamp, the Kafka timestamp replaces it.',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'What an agent did with a suggestion (topic agent.feedback, key conversation_id).'
WITH (
  'connector' = 'kafka',
  'topic' = 'agent.feedback',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-agent_feedback',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
