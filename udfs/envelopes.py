"""What travels between the coaching job's operators and what it writes to `coaching.audit`.

Pure functions: masking a validated record before any operator keeps it, the active policy choice,
deterministic ids, and the audit records of the contract (turn, suggestion, feedback). The Flink
operators in `jobs/operators.py` only call these.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Names have no pattern the masker can rely on (no NER here), so they are replaced whole at ingest.
NAME_FIELDS = {"customer.context": ("name", "display_name")}
# Free-text fields that may carry PII, per input topic; everything else is ids, enums and numbers.
TEXT_FIELDS = {
    "conversation.events": ("text",),
    "customer.context": ("notes", "address", "email", "phone"),
    "agent.state": ("notes",),
    "agent.feedback": ("edited_text", "comment"),
}
AUDIT_SCHEMA_VERSION = 1


def utc_iso(epoch_seconds: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the timestamp form of every cuecard record."""
    moment = datetime.fromtimestamp(time.time() if epoch_seconds is None else epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sha256_hex(data: bytes) -> str:
    """Hex sha256, the hash of every id and input fingerprint."""
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    """A stable hash of a JSON-able value (sorted keys, compact), for input fingerprints."""
    return sha256_hex(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def audit_id(record_type: str, *natural_key: str) -> str:
    """Deterministic audit id: the same decision replayed yields the same id, so readers de-duplicate."""
    return sha256_hex("\x1f".join((record_type, *natural_key)).encode())


def mask_fields(
    topic: str, record: Mapping[str, Any], mask: Callable[[str], tuple[str, list[str]]]
) -> tuple[dict[str, Any], list[str]]:
    """Mask every free-text field of a validated record; returns the masked copy and the PII types found.

    Nested `metadata` string values are masked too, since producers put arbitrary text there.
    """
    masked = dict(record)
    found: list[str] = []
    for name in NAME_FIELDS.get(topic, ()):
        if masked.get(name):
            masked[name] = "[NAME]"
            found.append("NAME")
    for name in TEXT_FIELDS.get(topic, ()):
        value = masked.get(name)
        if isinstance(value, str) and value:
            masked[name], types = mask(value)
            found.extend(types)
    metadata = masked.get("metadata")
    if isinstance(metadata, dict):
        clean = {}
        for key, value in metadata.items():
            if isinstance(value, str):
                clean[key], types = mask(value)
                found.extend(types)
            else:
                clean[key] = value
        masked["metadata"] = clean
    return masked, sorted(set(found))


def newer_policy(current: Mapping[str, Any] | None, candidate: Mapping[str, Any]) -> bool:
    """Whether a policy update replaces the active one: a higher (effective_at, version) wins.

    Updates can arrive twice after a restart or out of order across partitions; comparing versions
    keeps the active policy monotonic instead of last-writer-wins.
    """
    if current is None:
        return True
    return (str(candidate.get("effective_at", "")), _version_key(candidate.get("version"))) > (
        str(current.get("effective_at", "")),
        _version_key(current.get("version")),
    )


def _version_key(version: Any) -> tuple[int | str, ...]:
    return tuple(int(part) if part.isdigit() else part for part in str(version or "").split("."))


def provenance(topic: str, partition: int, offset: int) -> dict[str, Any]:
    """The Kafka coordinates of the input that caused a record."""
    return {"topic": topic, "partition": partition, "offset": offset}


def common_audit_fields(
    record_type: str,
    key: tuple[str, ...],
    conversation_id: str,
    event_id: str,
    event_ts: str,
    policy: Mapping[str, Any] | None,
    model_versions: Mapping[str, str],
    source: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields every audit record carries (see the audit_record schema)."""
    return {
        "audit_id": audit_id(record_type, *key),
        "record_type": record_type,
        "conversation_id": conversation_id,
        "event_id": event_id,
        "event_ts": event_ts,
        "created_at": utc_iso(),
        "policy_id": policy.get("policy_id") if policy else None,
        "policy_version": policy.get("version") if policy else None,
        "model_versions": dict(model_versions),
        "source": dict(source),
        "schema_version": AUDIT_SCHEMA_VERSION,
    }


@dataclass(frozen=True)
class Routed:
    """Where a raw input record goes next: `kind` is dlq, turn, customer, reference or feedback."""

    kind: str
    key: str | None
    payload: dict[str, Any]


_REFERENCE_TYPES = {"agent.state": "agent", "coaching.policies": "policy"}


def route_input(
    raw: bytes,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    max_bytes: int,
) -> Routed:
    """Validate one raw record and mask its text; never raises (a failure becomes a DLQ record)."""
    from udfs.pii import mask_pii
    from udfs.validation import Rejected, decode_and_validate

    received = time.time()
    result = decode_and_validate(raw, topic, partition, offset, timestamp_ms, max_bytes, key=key)
    if isinstance(result, Rejected):
        dlq_key = key.decode("utf-8", "replace") if key is not None else None
        return Routed("dlq", dlq_key, result.dlq_record)

    def mask(text: str) -> tuple[str, list[str]]:
        masked = mask_pii(text)
        return masked.masked_text, list(masked.pii_types)

    record, pii_types = mask_fields(topic, result.record, mask)
    source = provenance(topic, partition, offset)
    if topic == "conversation.events":
        return Routed(
            "turn",
            record["conversation_id"],
            {
                "type": "turn",
                "conversation_id": record["conversation_id"],
                "customer_id": record["customer_id"],
                "record": record,
                "pii_types": pii_types,
                "input_sha256": sha256_hex(raw),
                "source": source,
                "stamps": {"produced": timestamp_ms / 1000.0, "received": received, "validated": time.time()},
            },
        )
    if topic == "customer.context":
        return Routed(
            "customer",
            record["customer_id"],
            {"type": "customer", "customer_id": record["customer_id"], "record": record},
        )
    if topic in _REFERENCE_TYPES:
        return Routed("reference", None, {"type": _REFERENCE_TYPES[topic], "record": record})
    return Routed(
        "feedback",
        record["conversation_id"],
        {
            "type": "feedback",
            "conversation_id": record["conversation_id"],
            "record": record,
            "source": source,
            "stamps": {"produced": timestamp_ms / 1000.0, "received": received},
        },
    )


def processing_failure(envelope: Mapping[str, Any], error: BaseException, operator: str) -> dict[str, Any]:
    """A DLQ record for a valid input the coaching code failed on, so it is parked instead of retried.

    Without this, an exception would fail the job, which would restart from the checkpoint and meet
    the same record again, forever. The record kept is the masked one (the raw bytes are gone by
    then, and must not come back unmasked); the error names only the exception type.
    """
    from udfs.validation import make_dlq_record

    source = envelope.get("source") or {"topic": "unknown", "partition": -1, "offset": -1}
    produced = envelope.get("stamps", {}).get("produced", 0.0)
    return make_dlq_record(
        f"{operator} failed: {type(error).__name__}",
        "processing",
        json.dumps(envelope.get("record"), separators=(",", ":"), default=str).encode("utf-8"),
        str(envelope.get("conversation_id", "")).encode("utf-8"),
        str(source["topic"]),
        int(source["partition"]),
        int(source["offset"]),
        int(produced * 1000),
    )
