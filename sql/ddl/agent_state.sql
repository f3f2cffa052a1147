-- Generated from udfs/schemas/agent_state.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `agent_state` (
  `agent_id` STRING COMMENT 'Id of the agent.',
  `updated_at` STRING COMMENT 'When the agent''s state last changed (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
  `status` STRING COMMENT 'Availability of the agent.',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `team` STRING COMMENT 'Team the agent belongs to.',
  `supervisor_id` STRING COMMENT 'Id of the agent''s supervisor; supervisor alerts are routed to them.',
  `experience` STRING COMMENT 'Experience level; trainees get more guidance.',
  `skills` ARRAY<STRING> COMMENT 'Intents the agent is trained to handle.',
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
