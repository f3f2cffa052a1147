"""Flattening of `coaching.audit` / `coaching.dlq` records into audit table rows (layout: `auditlake.tables`).

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
from typing import Any

import pyarrow as pa

from auditlake.tables import DLQ_TOPIC, PARTITION_COLUMN, POLICY_DECISIONS, TABLES

# Raw PII shapes that must never appear in a text column: names are the quarantine reasons.
PII_PATTERNS: dict[str, str] = {
    "CARD": r"\b(?:\d[ -]?){12,18}\d\b",
    "EMAIL": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "SSN": r"\b\d{3}-\d{2}-\d{4}\b",
    "PHONE": r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\+\d{10,14}\b",
}
_PII_RES = {name: re.compile(pattern) for name, pattern in PII_PATTERNS.items()}
# Values quarantine keeps as they are: ids and hashes (a long numeric id looks like a card number, and a
# redacted id makes the row untraceable) and the integer columns of the tables (offsets, epoch ms).
_ID_SUFFIXES = ("_id", "_ids", "_sha256", "_hash", "_hashes")
_INTEGER_COLUMNS = frozenset(c.name for t in TABLES.values() for c in t.columns if pa.types.is_integer(c.type))


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


def _redact_payload(value: Any, key: str = "") -> Any:
    """A JSON-like value with raw PII patterns redacted in its free text; ids, hashes and counters kept."""
    if key.endswith(_ID_SUFFIXES) or (key in _INTEGER_COLUMNS and isinstance(value, int)):
        return value
    if isinstance(value, dict):
        return {redact_pii(str(k))[0]: _redact_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_payload(v, key) for v in value]
    if value is None or isinstance(value, bool):
        return value
    text, kinds = redact_pii(str(value))  # numbers too: a card number may come as one in a raw record
    return text if kinds else value


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
    """A quarantine row: the failed row (or raw record) as JSON, free text redacted, ids readable."""
    if isinstance(payload, str):  # undecodable bytes: all of it may be free text
        redacted = redact_pii(payload)[0]
    else:
        redacted = json.dumps(_redact_payload(payload), sort_keys=True, default=str)
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
