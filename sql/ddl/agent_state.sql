-- Generated from udfs/schemas/agent_state.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `agent_state` (
  `agent_id` STRING COMMENT 'Id of the agent.',
  `updated_at` STRING COMMENT 'When the agent''s state last changed: ISO-8601 with Z or a UTC offset (2026-11-25T08:00:00.123Z, 2026-11-25T09:00:00+01:00) or epoch milliseconds (1795593600123), normalised at ingest to ISO-8601 UTC with milliseconds; more than 5 minutes after the record''s Kafka timestamp, the Kafka timestamp replaces it. Absent or null: the record''s Kafka timestamp.',
  `status` STRING COMMENT 'Availability of the agent.',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `team` STRING COMMENT 'Team the agent belongs to.',
  `supervisor_id` STRING COMMENT 'Id of the agent''s supervisor; supervisor alerts are routed to them. A number (4711) is normalised to its decimal string.',
  `experience` STRING COMMENT 'Experience level; trainees get more guidance.',
  `skills` ARRAY<STRING> COMMENT 'Skills as the workforce system names them: intent labels (billing_dispute), other names or skill objects (name, level); not read by the coaching.',
  `languages` ARRAY<STRING> COMMENT 'Languages the agent speaks.',
  `notes` STRING COMMENT 'Free-text notes (PII: masked on ingest).',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'Latest state of an agent from the workforce system (topic agent.state, key agent_id).'
WITH (
  'connector' = 'kafka',
  'topic' = 'agent.state',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-agent_state',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
