-- Generated from udfs/schemas/customer_context.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `customer_context` (
  `customer_id` STRING COMMENT 'Id of the customer.',
  `updated_at` STRING COMMENT 'When the CRM last changed this context: ISO-8601 with Z or a UTC offset (2026-11-25T08:00:00.123Z, 2026-11-25T09:00:00+01:00) or epoch milliseconds (1795593600123), normalised at ingest to ISO-8601 UTC with milliseconds; more than 5 minutes after the record''s Kafka timestamp, the Kafka timestamp replaces it. Absent or null: the record''s Kafka timestamp.',
  `schema_version` BIGINT COMMENT 'Version of this record''s schema; this file describes version 1.',
  `name` STRING COMMENT 'Customer''s full name (PII: masked on ingest).',
  `display_name` STRING COMMENT 'How agents address the customer (PII: masked on ingest).',
  `email` STRING COMMENT 'Customer''s e-mail address (PII: masked on ingest).',
  `phone` STRING COMMENT 'Customer''s phone number (PII: masked on ingest).',
  `address` STRING COMMENT 'Customer''s postal address (PII: masked on ingest).',
  `tier` STRING COMMENT 'Loyalty tier.',
  `language` STRING COMMENT 'BCP-47 language tag, e.g. en or en-GB.',
  `vulnerable` BOOLEAN COMMENT 'The CRM flags this customer as vulnerable: every suggestion needs human review.',
  `open_cases` BIGINT COMMENT 'Number of open support cases.',
  `tenure_months` BIGINT COMMENT 'Months since the customer joined.',
  `lifetime_value` DOUBLE COMMENT 'Lifetime value in the account currency.',
  `notes` STRING COMMENT 'Free-text CRM notes (PII: masked on ingest).',
  `consent` MAP<STRING, STRING> COMMENT 'Consent flags as the CRM sends them, by name (recording, marketing, ...); not read by the coaching.',
  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.',
  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.',
  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'
) COMMENT 'Latest known context of a customer from the CRM (topic customer.context, key customer_id). PII fields are masked on ingest.'
WITH (
  'connector' = 'kafka',
  'topic' = 'customer.context',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'cuecard-sql-customer_context',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);
