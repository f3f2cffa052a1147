-- Generated from udfs/schemas/customer_context.v1.json by sql/generate_ddl.py; do not edit by hand.
CREATE TABLE `customer_context` (
  `customer_id` STRING COMMENT 'Id of the customer.',
  `updated_at` STRING COMMENT 'When the CRM last changed this context (ISO-8601 UTC, e.g. 2026-11-25T08:00:00.123Z)',
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
