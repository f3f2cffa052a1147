-- Generated from udfs/schemas/dlq_record.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `coaching_dlq` (
  `error` STRING COMMENT 'Why the record was rejected: the rule and the JSON path, never the offending value''s text.',
  `error_type` STRING COMMENT 'Class of the failure: oversize (too many bytes), decode (not UTF-8), json (not a JSON object), missing_field, enum (value outside its allowed set), schema (any other schema rule), unknown_topic, processing (a valid record the coaching code failed on; its masked form is kept instead of the raw bytes).',
  `source` ROW<`topic` STRING, `partition` BIGINT, `offset` BIGINT, `timestamp_ms` BIGINT> COMMENT 'Kafka coordinates of the rejected record.',
  `failed_at` STRING COMMENT 'When the job rejected the record (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
  `raw_base64` STRING COMMENT 'The original value bytes, base64.',
  `key_base64` STRING COMMENT 'The original key bytes, base64, or null.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'An input record the job rejected, with why and where it came from (topic coaching.dlq). The original bytes are kept.'
WITH (
  'connector' = 'kafka',
  'topic' = 'coaching.dlq',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-coaching_dlq',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true',
  'properties.isolation.level' = 'read_committed'
);
