"""Audit lake table layout and the flattening of `coaching.audit` / `coaching.dlq` records into table rows.

Pure functions: one Kafka record in, a list of `(table, row)` out, never raising. A record that cannot be
decoded or has an unknown type becomes a quarantine row with the reason, so nothing is dropped silently.
Raw DLQ payloads are never stored (they may hold unmasked PII): the lake keeps their sha256 and length,
and the bytes stay replayable from `coaching.dlq` at the stored source coordinates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

AUDIT_TOPIC = "coaching.audit"
DLQ_TOPIC = "coaching.dlq"
PARTITION_COLUMN = "date"
CHAIN_COLUMNS = ("chain_seq", "prev_hash", "row_hash")
TIMESTAMP = pa.timestamp("us", tz="UTC")

# Raw PII shapes that must never appear in a text column: names are the quarantine reasons.
PII_PATTERNS: dict[str, str] = {
    "CARD": r"\b(?:\d[ -]?){12,18}\d\b",
    "EMAIL": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "SSN": r"\b\d{3}-\d{2}-\d{4}\b",
    "PHONE": r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\+\d{10,14}\b",
}
_PII_RES = {name: re.compile(pattern) for name, pattern in PII_PATTERNS.items()}


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
        Column("kind", _STR, "reply | knowledge | compliance_alert | escalation | next_action"),
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


def sha256_text(*parts: str) -> str:
    """sha256 hex of parts joined by a unit separator."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def parse_ts(value: Any) -> datetime | None:
    """ISO-8601 (with Z) to an aware UTC datetime; None when missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def day_of(moment: datetime | None, fallback: datetime) -> str:
    """Partition value (UTC day) of a timestamp, or of the fallback when it is missing."""
    return (moment or fallback).strftime("%Y-%m-%d")


def canonical_json(value: Any) -> str | None:
    """Compact sorted JSON of a mapping, None for None: a stable string form for nested objects."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def redact_pii(text: str) -> tuple[str, list[str]]:
    """Replace raw PII patterns by [REDACTED:KIND]; returns the text and the kinds found."""
    found = []
    for name, pattern in _PII_RES.items():
        text, count = pattern.subn(f"[REDACTED:{name}]", text)
        if count:
            found.append(name)
    return text, found


def _obj(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    return value if isinstance(value, dict) else {}


def _str_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class KafkaCoords:
    """Where a record was read from; its offset is what the app transaction records."""

    topic: str
    partition: int
    offset: int

    def columns(self) -> dict[str, Any]:
        """The kafka_* columns of a row."""
        return {"kafka_topic": self.topic, "kafka_partition": self.partition, "kafka_offset": self.offset}


def _common(record: Mapping[str, Any], coords: KafkaCoords, now: datetime) -> dict[str, Any]:
    source = _obj(record, "source")
    event_ts = parse_ts(record.get("event_ts"))
    return {
        "audit_id": _opt_str(record.get("audit_id")),
        "record_type": _opt_str(record.get("record_type")),
        "conversation_id": _opt_str(record.get("conversation_id")),
        "event_id": _opt_str(record.get("event_id")),
        "event_ts": event_ts,
        "created_at": parse_ts(record.get("created_at")),
        "policy_id": _opt_str(record.get("policy_id")),
        "policy_version": _opt_str(record.get("policy_version")),
        "model_versions": canonical_json(record.get("model_versions") or {}),
        "source_topic": _opt_str(source.get("topic")),
        "source_partition": _int(source.get("partition")),
        "source_offset": _int(source.get("offset")),
        "schema_version": _int(record.get("schema_version")),
        **coords.columns(),
        PARTITION_COLUMN: day_of(event_ts, now),
    }


def _turn(record: Mapping[str, Any], base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    scores = _obj(record, "scores")
    row = {
        **base,
        "seq": _int(record.get("seq")),
        "channel": _opt_str(record.get("channel")),
        "speaker": _opt_str(record.get("speaker")),
        "customer_id": _opt_str(record.get("customer_id")),
        "agent_id": _opt_str(record.get("agent_id")),
        "masked_text": _opt_str(record.get("masked_text")),
        "pii_types": _str_list(record.get("pii_types")) or [],
        "input_sha256": _opt_str(record.get("input_sha256")),
        "context_missing": _str_list(record.get("context_missing")) or [],
        "intent": _opt_str(scores.get("intent")),
        "intent_confidence": _num(scores.get("intent_confidence")),
        "sentiment": _num(scores.get("sentiment")),
        "escalation_risk": _num(scores.get("escalation_risk")),
        "compliance_risk": _num(scores.get("compliance_risk")),
    }
    return [("turns", row)]


def _suggestion(record: Mapping[str, Any], base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    latency = _obj(record, "latency_ms")
    stages = [_num(v) for v in latency.values()]
    rules = _str_list(record.get("rules_fired")) or []
    row = {
        **base,
        "suggestion_id": _opt_str(record.get("suggestion_id")),
        "kind": _opt_str(record.get("kind")),
        "text": _opt_str(record.get("text")),
        "confidence": _num(record.get("confidence")),
        "status": _opt_str(record.get("status")),
        "rules_fired": rules,
        "template_id": _opt_str(record.get("template_id")),
        "human_review": _bool(record.get("human_review")),
        "degraded": _bool(record.get("degraded")),
        "latency_ms": canonical_json(latency),
        "latency_total_ms": None if None in stages else float(sum(s for s in stages if s is not None)),
        "input_hashes": canonical_json(record.get("input_hashes") or {}),
    }
    rows: list[tuple[str, dict[str, Any]]] = [("suggestions", row)]
    for rule in dict.fromkeys(rules):  # a rule listed twice is one decision
        decision = {name: base.get(name) for name in POLICY_DECISIONS.column_names if name in base}
        decision.update(
            decision_id=sha256_text(str(row["audit_id"]), rule),
            suggestion_id=row["suggestion_id"],
            rule_id=rule,
            status=row["status"],
            blocked=row["status"] == "blocked",
            kind=row["kind"],
            template_id=row["template_id"],
        )
        rows.append(("policy_decisions", decision))
    return rows


def _feedback(record: Mapping[str, Any], base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    row = {
        **base,
        "suggestion_id": _opt_str(record.get("suggestion_id")),
        "agent_id": _opt_str(record.get("agent_id")),
        "action": _opt_str(record.get("action")),
        "edited_text": _opt_str(record.get("edited_text")),
        "found": _bool(record.get("found")),
    }
    return [("feedback", row)]


_AUDIT_TYPES = {"turn": _turn, "suggestion": _suggestion, "feedback": _feedback}


def _dead_letter(record: Mapping[str, Any], coords: KafkaCoords, now: datetime) -> dict[str, Any]:
    source = _obj(record, "source")
    raw_b64 = record.get("raw_base64")
    try:
        raw: bytes | None = base64.b64decode(raw_b64, validate=True) if isinstance(raw_b64, str) else None
    except ValueError:
        raw = None
    key_b64 = record.get("key_base64")
    try:
        key = base64.b64decode(key_b64, validate=True) if isinstance(key_b64, str) else None
    except ValueError:
        key = None
    failed_at = parse_ts(record.get("failed_at"))
    return {
        "dlq_id": sha256_text(str(source.get("topic")), str(source.get("partition")), str(source.get("offset"))),
        "error": _opt_str(record.get("error")),
        "error_type": _opt_str(record.get("error_type")),
        "source_topic": _opt_str(source.get("topic")),
        "source_partition": _int(source.get("partition")),
        "source_offset": _int(source.get("offset")),
        "source_timestamp_ms": _int(source.get("timestamp_ms")),
        "failed_at": failed_at,
        "raw_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "raw_length": len(raw) if raw is not None else None,
        "key_sha256": hashlib.sha256(key).hexdigest() if key is not None else None,
        **coords.columns(),
        PARTITION_COLUMN: day_of(failed_at, now),
    }


def quarantine_row(
    table: str,
    row_key: str | None,
    failed: list[str],
    payload: Any,
    coords: KafkaCoords,
    now: datetime,
    day: str | None = None,
) -> dict[str, Any]:
    """A quarantine row: the failed row (or raw record) as JSON with raw PII patterns redacted."""
    text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True, default=str)
    redacted, _ = redact_pii(text)
    return {
        "quarantine_id": sha256_text(table, str(row_key), coords.topic, str(coords.partition), str(coords.offset)),
        "table_name": table,
        "row_key": row_key,
        "failed_expectations": sorted(set(failed)),
        "row_json": redacted,
        "quarantined_at": now,
        **coords.columns(),
        PARTITION_COLUMN: day or now.strftime("%Y-%m-%d"),
    }


def flatten_record(value: bytes | None, coords: KafkaCoords, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Turn one Kafka record into `(table, row)` pairs; bad records become one quarantine row."""
    try:
        record = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError) as err:
        raw = (value or b"").decode("utf-8", "replace")[:2000]
        return [("quarantine", quarantine_row("", None, [f"decode: {err.__class__.__name__}"], raw, coords, now))]
    if not isinstance(record, dict):
        return [("quarantine", quarantine_row("", None, ["decode: not an object"], record, coords, now))]
    if coords.topic == DLQ_TOPIC:
        return [("dead_letters", _dead_letter(record, coords, now))]
    flatten = _AUDIT_TYPES.get(str(record.get("record_type")))
    if flatten is None:
        reason = f"record_type: {str(record.get('record_type'))[:40]!r} is not turn|suggestion|feedback"
        return [("quarantine", quarantine_row("", _opt_str(record.get("audit_id")), [reason], record, coords, now))]
    return flatten(record, _common(record, coords, now))


def render_tables_markdown() -> str:
    """The auditors' reference of every Delta table (checked in as sql/audit_tables.md)."""
    lines = [
        "# Audit lake tables",
        "",
        "Generated from `udfs/audit_rows.py` by `python -m udfs.audit_rows`; a unit test keeps it current.",
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
