"""The typed records of one input on its way through the coaching core, and the ids and hashes they carry.

    RawRecord ─ ingest ─► Envelope | Rejected ─ join ─► JoinedTurn ─ coach ─► Outcome

All of them are frozen: a stage returns a new record and never mutates its input, so the Flink
operator, the local runner and the tests see exactly the same values. Text inside an `Envelope`
is already PII-masked; the raw bytes only survive in a `Rejected` (the DLQ keeps them by contract).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RecordKind = Literal["turn", "feedback", "customer", "agent", "policy"]


def sha256_hex(data: bytes) -> str:
    """Hex sha256, the hash of every id and input fingerprint."""
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    """A stable hash of a JSON-able value (sorted keys, compact), for input fingerprints."""
    return sha256_hex(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def audit_id(record_type: str, *natural_key: str) -> str:
    """Deterministic audit id: the same decision replayed yields the same id, so readers de-duplicate."""
    return sha256_hex("\x1f".join((record_type, *natural_key)).encode())


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One Kafka record as every source delivers it: coordinates, timestamp, raw key and value bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Source:
    """The Kafka coordinates of the input that caused a record (its provenance)."""

    topic: str
    partition: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        """The `source` object of audit records."""
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


@dataclass(frozen=True, slots=True)
class Envelope:
    """A validated input whose free text is masked; `key` is what it is keyed or stored by."""

    kind: RecordKind
    key: str
    record: Mapping[str, Any]
    pii_types: tuple[str, ...]
    input_sha256: str
    source: Source
    produced_at: float  # epoch seconds, from the Kafka timestamp
    received_at: float
    validated_at: float
    ingest_notes: tuple[str, ...] = ()  # what ingest changed or dropped (PII-free), for the audit


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input that goes to `coaching.dlq` (a dlq_record.v1 object), keyed by its original key."""

    key: str | None
    dlq_record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    """A masked reference record as broadcast state keeps it, with its fingerprint computed once."""

    record: Mapping[str, Any]
    sha256: str

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> ReferenceEntry:
        """Wrap a record, hashing it now rather than on every turn that is joined with it."""
        return cls(record, canonical_hash(record))


@dataclass(frozen=True, slots=True)
class JoinedTurn:
    """A turn with the context it was joined with as of processing time (None: not seen yet)."""

    turn: Envelope
    customer: Mapping[str, Any] | None
    agent: Mapping[str, Any] | None
    policy: Mapping[str, Any] | None
    input_hashes: Mapping[str, str]
    joined_at: float

    @property
    def context_missing(self) -> tuple[str, ...]:
        """Which context was not there: flagged on every decision, never guessed."""
        pairs = (("customer", self.customer), ("agent", self.agent), ("policy", self.policy))
        return tuple(name for name, value in pairs if value is None)


@dataclass(frozen=True)
class Outcome:
    """What one input produced, as JSON objects per output topic, plus the counters it moves."""

    key: str | None
    suggestions: tuple[dict[str, Any], ...] = ()
    alerts: tuple[dict[str, Any], ...] = ()
    audit: tuple[dict[str, Any], ...] = ()
    dlq: tuple[Mapping[str, Any], ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    deep: tuple[Mapping[str, Any], ...] = ()  # requests for the deep stage (udfs.deep_stage.DeepRequest dicts)

    def then(self, later: Outcome) -> Outcome:
        """One outcome: this one followed by a later one of the same input (the deep tier's updates)."""
        counts = dict(self.counts)
        for name, n in later.counts.items():
            counts[name] = counts.get(name, 0) + n
        return Outcome(
            key=self.key,
            suggestions=self.suggestions + later.suggestions,
            alerts=self.alerts + later.alerts,
            audit=self.audit + later.audit,
            dlq=self.dlq + later.dlq,
            counts=counts,
            deep=later.deep,
        )
