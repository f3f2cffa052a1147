"""Kafka sources and sinks of the coaching job, declared with Flink SQL DDL.

The Table API connector is used at the boundary because it exposes what the DataStream API does not
from Python: the raw bytes (kept for the DLQ), the record's topic/partition/offset (provenance), and
a message key taken from a column. Everything between source and sink is a DataStream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cuecard.settings import Settings

INPUT_TOPICS = (
    "conversation.events",
    "customer.context",
    "agent.state",
    "coaching.policies",
    "agent.feedback",
)


@dataclass(frozen=True)
class SinkSpec:
    """One output: the pipeline stream it takes, its table name, topic and how records are delivered."""

    output: str
    table: str
    topic: str
    exactly_once: bool


def sink_specs(settings: Settings) -> tuple[SinkSpec, ...]:
    """The four outputs; audit and DLQ are always transactional, suggestions and alerts are a setting."""
    live_eo = settings.suggestions_delivery == "exactly-once"
    return (
        SinkSpec("suggestions", "sink_suggestions", settings.output_topic("coaching.suggestions"), live_eo),
        SinkSpec("alerts", "sink_alerts", settings.output_topic("coaching.alerts"), live_eo),
        SinkSpec("audit", "sink_audit", settings.output_topic("coaching.audit"), True),
        SinkSpec("dlq", "sink_dlq", settings.output_topic("coaching.dlq"), True),
    )


def _options(pairs: dict[str, str]) -> str:
    return ",\n  ".join(f"'{k}' = '{v}'" for k, v in pairs.items())


def source_ddl(settings: Settings, group_id: str, topics: Iterable[str] = INPUT_TOPICS) -> str:
    """One source over all input topics: raw key and value bytes plus Kafka provenance.

    The live job resumes from its group's committed offsets; a replay reads the topics from the start.
    """
    options = {
        "connector": "kafka",
        "topic": ";".join(topics),
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
    return f"""CREATE TEMPORARY TABLE cuecard_inputs (
  `topic` STRING METADATA VIRTUAL,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  `ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  `k` BYTES,
  `v` BYTES
) WITH (
  {_options(options)}
)"""


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
) WITH (
  {_options(options)}
)"""
