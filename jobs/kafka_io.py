"""Kafka sources and sinks of the coaching job, declared with Flink SQL, and the Java-side fan-out.

The Table API connector is used at the boundary because it exposes what the DataStream API does not
from Python: the raw bytes (kept for the DLQ), the record's topic/partition/offset (provenance), and
a message key taken from a column. SQL also does two jobs on the Java side that would each cost a
Java-Python round trip per record in Python: extracting the conversation key (`KEYED_QUERY`) and
fanning the coach's one row per input out to the four output topics (`CROSS JOIN UNNEST`).
"""

from __future__ import annotations

from dataclasses import dataclass

from udfs.ddl import render_options
from udfs.settings import Settings
from udfs.topics import (
    AGENT_STATE,
    ALERTS,
    AUDIT,
    CONVERSATION_EVENTS,
    CUSTOMER_CONTEXT,
    DLQ,
    FEEDBACK,
    POLICIES,
    SUGGESTIONS,
    Topic,
)

KEYED_TABLE = "cuecard_keyed_inputs"
REFERENCE_TABLE = "cuecard_reference_inputs"
KEYED_INPUTS: tuple[Topic, ...] = (CONVERSATION_EVENTS, FEEDBACK)
REFERENCE_INPUTS: tuple[Topic, ...] = (CUSTOMER_CONTEXT, AGENT_STATE, POLICIES)
RAW_COLUMNS = "`topic`, `partition`, `offset`, `ts`, `k`, `v`"
# Turns and feedback are keyed by the conversation named in the value (the Kafka key is only a
# fallback: producers get it wrong); an unreadable value keys by "" and is rejected downstream.
KEYED_QUERY = (
    "SELECT COALESCE(JSON_VALUE(CAST(`v` AS STRING), '$.conversation_id'), CAST(`k` AS STRING), '') AS route_key, "
    f"ROW({RAW_COLUMNS}) AS `raw` FROM {KEYED_TABLE}"
)
REFERENCE_QUERY = f"SELECT {RAW_COLUMNS} FROM {REFERENCE_TABLE}"
COACHED_VIEW = "coached"


@dataclass(frozen=True)
class SinkSpec:
    """One output: the array column of the coach's rows it takes, its table, topic and delivery."""

    column: str
    table: str
    topic: str
    exactly_once: bool

    def insert_sql(self) -> str:
        """Fan the column's JSON strings out to the topic, one record each, keyed like the input."""
        return (
            f"INSERT INTO {self.table} SELECT `k`, `v` FROM {COACHED_VIEW} CROSS JOIN UNNEST(`{self.column}`) AS t(`v`)"
        )


def sink_specs(settings: Settings) -> tuple[SinkSpec, ...]:
    """The four outputs; audit and DLQ are always transactional, suggestions and alerts are a setting."""
    delivery = settings.suggestions_delivery
    return tuple(
        SinkSpec(column, f"sink_{column}", settings.output_topic(topic.name), topic.exactly_once(delivery))
        for column, topic in (("suggestions", SUGGESTIONS), ("alerts", ALERTS), ("audit", AUDIT), ("dlq", DLQ))
    )


def source_ddl(settings: Settings, table: str, topics: tuple[Topic, ...], group_id: str) -> str:
    """A source over some input topics: raw key and value bytes plus Kafka provenance.

    The live job resumes from its group's committed offsets; a replay reads the topics from the start.
    """
    options = {
        "connector": "kafka",
        "topic": ";".join(t.name for t in topics),
        "properties.bootstrap.servers": settings.bootstrap_servers,
        "properties.group.id": group_id,
        "properties.isolation.level": "read_committed",
        "properties.auto.offset.reset": "earliest",
        "scan.startup.mode": "earliest-offset" if settings.replay_name else "group-offsets",
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }
    return f"""CREATE TEMPORARY TABLE {table} (
  `topic` STRING METADATA VIRTUAL,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  `ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  `k` BYTES,
  `v` BYTES
) {render_options(options)}"""


def sink_ddl(settings: Settings, spec: SinkSpec, job_name: str) -> str:
    """A keyed JSON-string sink; exactly-once sinks write in Kafka transactions committed on checkpoint."""
    options = {
        "connector": "kafka",
        "topic": spec.topic,
        "properties.bootstrap.servers": settings.bootstrap_servers,
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": "exactly-once" if spec.exactly_once else "at-least-once",
    }
    if spec.exactly_once:
        options["sink.transactional-id-prefix"] = f"{job_name}-{spec.topic}"
        # Below the broker's transaction.max.timeout.ms (15 min).
        options["properties.transaction.timeout.ms"] = "600000"
    else:
        options["properties.linger.ms"] = "0"
    return f"""CREATE TEMPORARY TABLE {spec.table} (
  `k` STRING,
  `v` STRING
) {render_options(options)}"""
