-- Generated from udfs/schemas/conversation_event.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `conversation_events` (
  `event_id` STRING COMMENT 'Unique id of this turn event; producers retry with the same id.',
  `conversation_id` STRING COMMENT 'Id of the conversation the turn belongs to; the partitioning key.',
  `seq` BIGINT COMMENT 'Position of the turn in its conversation, from 0.',
  `ts` STRING COMMENT 'When the turn happened: ISO-8601 with Z or a UTC offset (2026-11-25T08:00:00.123Z, 2026-11-25T09:00:00+01:00) or epoch milliseconds (1795593600123), normalised at ingest to ISO-8601 UTC with milliseconds; more than 5 minutes after the record''s Kafka timestamp, the Kafka timestamp replaces it.',
  `channel` STRING COMMENT 'Channel of the conversation.',
  `speaker` STRING COMMENT 'Who produced the turn.',
  `text` STRING COMMENT 'What was said or written (voice: the transcript). Raw: may contain PII until masked.',
  `customer_id` STRING COMMENT 'Id of the customer, the key of customer.context.',
  `agent_id` STRING COMMENT 'Id of the agent handling the conversation, the key of agent.state.',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `language` STRING COMMENT 'BCP-47 language tag, e.g. en or en-GB.',
  `metadata` MAP<STRING, STRING> COMMENT 'Free-form producer metadata; values are text and are PII-masked like the turn text.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'One turn of a conversation between a customer and an agent (topic conversation.events, key conversation_id).'
WITH (
  'connector' = 'kafka',
  'topic' = 'conversation.events',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-conversation_events',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
