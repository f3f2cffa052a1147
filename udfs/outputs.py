"""The one place that turns coaching decisions into output records: published, audited, remembered.

A suggestion is projected three ways, each by one function: `published` (coaching.suggestions),
`audited` (its coaching.audit record) and `remembered` (the summary kept in state so later feedback
joins to it). Turn and feedback audit records are built here too, on the fields every audit record
shares (`audit_base`, see the audit_record schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from udfs.envelopes import Envelope, JoinedTurn, audit_id
from udfs.records import Alert, Suggestion

AUDIT_SCHEMA_VERSION = 1


def audit_base(
    record_type: str,
    natural_key: tuple[str, ...],
    record: Mapping[str, Any],
    envelope: Envelope,
    *,
    policy: Mapping[str, Any] | None,
    model_versions: Mapping[str, str],
    created_at: str,
) -> dict[str, Any]:
    """The fields every audit record carries."""
    return {
        "audit_id": audit_id(record_type, *natural_key),
        "record_type": record_type,
        "conversation_id": record["conversation_id"],
        "event_id": record["event_id"],
        "event_ts": record["ts"],
        "created_at": created_at,
        "policy_id": policy.get("policy_id") if policy else None,
        "policy_version": policy.get("version") if policy else None,
        "model_versions": dict(model_versions),
        "source": envelope.source.as_dict(),
        "schema_version": AUDIT_SCHEMA_VERSION,
    }


def published(suggestion: Suggestion, created_at: str, latency_ms: Mapping[str, float]) -> dict[str, Any]:
    """The suggestion.v1 object a CRM consumer reads."""
    return suggestion.to_dict(created_at, latency_ms)


def published_alert(alert: Alert, created_at: str) -> dict[str, Any]:
    """The alert.v1 object a supervisor's console reads."""
    return alert.to_dict(created_at)


def audited(
    suggestion: Suggestion,
    joined: JoinedTurn,
    *,
    created_at: str,
    latency_ms: Mapping[str, float],
    input_hashes: Mapping[str, str],
) -> dict[str, Any]:
    """The audit record of one candidate, whatever its status (shown, blocked, superseded, shadow)."""
    return {
        **audit_base(
            "suggestion",
            (suggestion.suggestion_id,),
            joined.turn.record,
            joined.turn,
            policy=joined.policy,
            model_versions=suggestion.model_versions,
            created_at=created_at,
        ),
        "suggestion_id": suggestion.suggestion_id,
        "kind": suggestion.kind,
        "text": suggestion.text,
        "confidence": suggestion.confidence,
        "status": suggestion.status,
        "rules_fired": list(suggestion.rules_fired),
        "template_id": suggestion.template_id,
        "human_review": suggestion.human_review,
        "degraded": suggestion.degraded,
        "reason": suggestion.reason,
        "slot_id": suggestion.slot_id,
        "supersedes": suggestion.supersedes,
        "latency_ms": dict(latency_ms),
        "input_hashes": dict(input_hashes),
    }


def remembered(suggestion: Suggestion) -> dict[str, Any]:
    """What state keeps per shown suggestion so later feedback can be joined to it (no text)."""
    return {
        "suggestion_id": suggestion.suggestion_id,
        "event_id": suggestion.event_id,
        "kind": suggestion.kind,
        "template_id": suggestion.template_id,
        "model_versions": dict(suggestion.model_versions),
        "policy_version": suggestion.policy_version,
    }


def audited_turn(
    joined: JoinedTurn,
    *,
    scores: Mapping[str, Any],
    model_versions: Mapping[str, str],
    degraded_reason: str | None,
    created_at: str,
    reading: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The `turn` audit record: the masked input, its scores, how it was read and what context it was joined with."""
    turn, record = joined.turn, joined.turn.record
    return {
        **audit_base(
            "turn",
            (record["event_id"],),
            record,
            turn,
            policy=joined.policy,
            model_versions=model_versions,
            created_at=created_at,
        ),
        "seq": record["seq"],
        "channel": record["channel"],
        "speaker": record["speaker"],
        "customer_id": record["customer_id"],
        "agent_id": record["agent_id"],
        "masked_text": record["text"],
        "pii_types": list(turn.pii_types),
        "input_sha256": turn.input_sha256,
        "context_missing": list(joined.context_missing),
        "scores": dict(scores),
        "reading": dict(reading) if reading is not None else None,
        "ingest_notes": list(turn.ingest_notes),
        "degraded_reason": degraded_reason,
    }


def audited_feedback(envelope: Envelope, shown: Mapping[str, Any] | None, created_at: str) -> dict[str, Any]:
    """The `feedback` audit record, joined to the suggestion it answers when state still knows it."""
    record = envelope.record
    found = shown is not None and shown.get("suggestion_id") == record["suggestion_id"]
    versions = dict(shown["model_versions"]) if found and shown else {}
    policy = {"policy_id": None, "version": shown.get("policy_version")} if found and shown else None
    return {
        **audit_base(
            "feedback",
            (record["event_id"],),
            record,
            envelope,
            policy=policy,
            model_versions=versions,
            created_at=created_at,
        ),
        "suggestion_id": record["suggestion_id"],
        "agent_id": record["agent_id"],
        "action": record["action"],
        "edited_text": record.get("edited_text"),
        "found": found,
    }
