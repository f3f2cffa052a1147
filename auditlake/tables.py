"""Audit lake table layout: every Delta table's columns, key and feeding topics, and their reference.

`TABLES` is the one description of the lake: the writer builds Arrow schemas from it, the store creates
the tables from it, verify and the queries read through it, and `python -m auditlake.tables` renders it
into `sql/audit_tables.md` for auditors (a unit test keeps that file current).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from udfs.topics import AUDIT, DLQ

AUDIT_TOPIC = AUDIT.name
DLQ_TOPIC = DLQ.name
PARTITION_COLUMN = "date"
CHAIN_COLUMNS = ("chain_seq", "prev_hash", "row_hash")
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One column of an audit table: name, Arrow type and what it means (the README lists these)."""

    name: str
    type: pa.DataType
    doc: str


@dataclass(frozen=True)
class TableSpec:
    """An audit table: its columns, the column that identifies a row, and the topics that feed it."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: str
    topics: tuple[str, ...]
    text_columns: tuple[str, ...] = ()

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the table (partition column included)."""
        return pa.schema([pa.field(c.name, c.type) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        """Column names in schema order."""
        return [c.name for c in self.columns]


_STR = pa.string()
_LIST = pa.list_(pa.string())

_COMMON = (
    Column("audit_id", _STR, "sha256 of record_type + natural key; unique per audit record"),
    Column("record_type", _STR, "turn | suggestion | feedback"),
    Column("conversation_id", _STR, "conversation the record belongs to"),
    Column("event_id", _STR, "the turn's event id (for feedback: the feedback message's event id)"),
    Column("event_ts", TIMESTAMP, "when the source event happened (UTC)"),
    Column("created_at", TIMESTAMP, "when the coaching job produced the record (UTC)"),
    Column("policy_id", _STR, "active policy id, null if none"),
    Column("policy_version", _STR, "active policy version, null if none"),
    Column("model_versions", _STR, "model name -> version as canonical JSON (sorted keys)"),
    Column("source_topic", _STR, "input topic of the record that caused this one"),
    Column("source_partition", pa.int32(), "its partition"),
    Column("source_offset", pa.int64(), "its offset"),
    Column("schema_version", pa.int32(), "audit record schema version"),
)
_TAIL = (
    Column("kafka_topic", _STR, "topic this row was read from (coaching.audit or coaching.dlq)"),
    Column("kafka_partition", pa.int32(), "partition it was read from"),
    Column("kafka_offset", pa.int64(), "offset it was read from; the Delta app transaction version"),
    Column(PARTITION_COLUMN, _STR, "partition column: UTC day of event_ts (dead letters: failed_at), YYYY-MM-DD"),
    Column("chain_seq", pa.int64(), "position of the row in its table/date hash chain, from 0"),
    Column("prev_hash", _STR, "row_hash of the previous row of the chain (64 zeros for the first)"),
    Column("row_hash", _STR, "sha256 over prev_hash and every other column of this row"),
)

SUGGESTIONS = TableSpec(
    "suggestions",
    "every suggestion the coaching job made, shown or blocked",
    _COMMON
    + (
        Column("suggestion_id", _STR, "deterministic suggestion id"),
        Column(
            "kind", _STR, "reply | knowledge | next_action | escalation | compliance_alert | pii_nudge | fraud_playbook"
        ),
        Column("text", _STR, "suggestion text (masked)"),
        Column("confidence", pa.float64(), "0..1"),
        Column("status", _STR, "shown | blocked | superseded | shadow"),
        Column("rules_fired", _LIST, "guardrail rule ids that fired"),
        Column("template_id", _STR, "response template, null if none"),
        Column("human_review", pa.bool_(), "routed to a human reviewer"),
        Column("degraded", pa.bool_(), "deep tier unavailable; fast-tier fallback"),
        Column("latency_ms", _STR, "stage -> milliseconds as canonical JSON"),
        Column("latency_total_ms", pa.float64(), "sum of latency_ms stages"),
        Column("input_hashes", _STR, "input name -> sha256 as canonical JSON"),
    )
    + _TAIL,
    key="audit_id",
    topics=(AUDIT_TOPIC,),
    text_columns=("text",),
)
TURNS = TableSpec(
    "turns",
    "conversation turns as the job saw them, text masked",
    _COMMON
    + (
        Column("seq", pa.int64(), "turn number in the conversation"),
        Column("channel", _STR, "chat | voice | email"),
        Column("speaker", _STR, "customer | agent | system"),
        Column("customer_id", _STR, "customer id"),
        Column("agent_id", _STR, "agent id"),
        Column("masked_text", _STR, "turn text with PII masked"),
        Column("pii_types", _LIST, "PII kinds masked, e.g. CARD, EMAIL"),
        Column("input_sha256", _STR, "sha256 of the raw input bytes"),
        Column("context_missing", _LIST, "customer | agent | policy context that was missing"),
        Column("intent", _STR, "fast-tier intent"),
        Column("intent_confidence", pa.float64(), "0..1"),
        Column("sentiment", pa.float64(), "-1 negative .. +1 positive"),
        Column("escalation_risk", pa.float64(), "0..1"),
        Column("compliance_risk", pa.float64(), "0..1"),
    )
    + _TAIL,
    key="audit_id",
    topics=(AUDIT_TOPIC,),
    text_columns=("masked_text",),
)
POLICY_DECISIONS = TableSpec(
    "policy_decisions",
    "one row per guardrail rule fired on a suggestion (derived from suggestion records)",
    (
        Column("decision_id", _STR, "sha256 of the suggestion's audit_id + rule_id"),
        Column("audit_id", _STR, "audit_id of the suggestion record"),
        Column("suggestion_id", _STR, "the suggestion"),
        Column("conversation_id", _STR, "conversation"),
        Column("event_id", _STR, "turn event id"),
        Column("event_ts", TIMESTAMP, "when the turn happened (UTC)"),
        Column("policy_id", _STR, "policy whose rule fired"),
        Column("policy_version", _STR, "its version"),
        Column("rule_id", _STR, "the rule"),
        Column("status", _STR, "the suggestion's outcome: shown | blocked | superseded | shadow"),
        Column("blocked", pa.bool_(), "status == blocked"),
        Column("kind", _STR, "suggestion kind"),
        Column("template_id", _STR, "suggestion template"),
        Column("model_versions", _STR, "model name -> version as canonical JSON"),
    )
    + _TAIL,
    key="decision_id",
    topics=(AUDIT_TOPIC,),
)
FEEDBACK = TableSpec(
    "feedback",
    "agent feedback on suggestions",
    _COMMON
    + (
        Column("suggestion_id", _STR, "the suggestion answered"),
        Column("agent_id", _STR, "agent who answered"),
        Column("action", _STR, "accepted | edited | dismissed"),
        Column("edited_text", _STR, "the agent's edit (masked), null unless edited"),
        Column("found", pa.bool_(), "the suggestion was known to the job"),
    )
    + _TAIL,
    key="audit_id",
    topics=(AUDIT_TOPIC,),
    text_columns=("edited_text",),
)
DEAD_LETTERS = TableSpec(
    "dead_letters",
    "rejected input records (from coaching.dlq), without their payload",
    (
        Column("dlq_id", _STR, "sha256 of source topic/partition/offset"),
        Column("error", _STR, "why it was rejected"),
        Column("error_type", _STR, "decode | schema | oversize | ..."),
        Column("source_topic", _STR, "input topic of the rejected record"),
        Column("source_partition", pa.int32(), "its partition"),
        Column("source_offset", pa.int64(), "its offset (replay it from there)"),
        Column("source_timestamp_ms", pa.int64(), "its Kafka timestamp"),
        Column("failed_at", TIMESTAMP, "when it was rejected (UTC)"),
        Column("raw_sha256", _STR, "sha256 of the rejected bytes (the bytes are not stored: may hold PII)"),
        Column("raw_length", pa.int64(), "their length in bytes"),
        Column("key_sha256", _STR, "sha256 of the record key, null if none"),
    )
    + _TAIL,
    key="dlq_id",
    topics=(DLQ_TOPIC,),
    text_columns=("error",),
)
QUARANTINE = TableSpec(
    "quarantine",
    "rows that failed a data-quality expectation or could not be decoded; PII patterns redacted",
    (
        Column("quarantine_id", _STR, "sha256 of table + row key + Kafka coordinates"),
        Column("table_name", _STR, "the table the row was meant for ('' if undecodable)"),
        Column("row_key", _STR, "the row's key in that table, null if undecodable"),
        Column("failed_expectations", _LIST, "GE expectation names (with column) that failed, or decode/type"),
        Column("row_json", _STR, "the row (or raw record) as JSON, raw PII patterns redacted"),
        Column("quarantined_at", TIMESTAMP, "when the writer quarantined it (UTC)"),
    )
    + _TAIL,
    key="quarantine_id",
    topics=(AUDIT_TOPIC, DLQ_TOPIC),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (SUGGESTIONS, TURNS, POLICY_DECISIONS, FEEDBACK, DEAD_LETTERS, QUARANTINE)
}
QUALITY_TABLES = ("suggestions", "turns", "policy_decisions", "feedback", "dead_letters")


def tables_fed_by(topic: str) -> list[str]:
    """Tables that rows from a topic can land in, in commit order."""
    return [name for name, spec in TABLES.items() if topic in spec.topics]


def render_tables_markdown() -> str:
    """The auditors' reference of every Delta table (checked in as sql/audit_tables.md)."""
    lines = [
        "# Audit lake tables",
        "",
        "Generated from `auditlake/tables.py` by `python -m auditlake.tables`; a unit test keeps it current.",
        "Every table is plain Delta (`delta.appendOnly=true`), partitioned by `date`, under",
        "`$CUECARD_RUN_DIR/audit/delta/<table>` (default `.run/audit/delta`).",
    ]
    for table in TABLES.values():
        lines += ["", f"## {table.name}", "", f"{table.doc[:1].upper()}{table.doc[1:]}. Unique key: `{table.key}`.", ""]
        lines += ["| column | type | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |" for c in table.columns]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (Path(__file__).resolve().parents[1] / "sql" / "audit_tables.md").write_text(render_tables_markdown())
