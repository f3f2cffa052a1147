"""A small, known set of audit and DLQ records (contract shape) for demos, tests and query examples.

Two conversations, three model/policy combinations, blocked and shown suggestions and feedback on
them; `bulk_records` makes many distinct valid records for load and crash tests.
"""

from __future__ import annotations

import base64
from typing import Any

from udfs.audit_rows import sha256_text

POLICY_A = "2026.11.1"
POLICY_B = "2026.11.2"
MODELS_A = {"intent": "intent@1", "ranker": "minilm@1"}
MODELS_B = {"intent": "intent@2", "ranker": "minilm@1"}


def _common(record_type: str, key: str, conversation: str, event: str, ts: str, policy: str, models: dict) -> dict:
    return {
        "audit_id": sha256_text(record_type, key),
        "record_type": record_type,
        "conversation_id": conversation,
        "event_id": event,
        "event_ts": ts,
        "created_at": ts.replace("Z", "") + "Z",
        "policy_id": "default",
        "policy_version": policy,
        "model_versions": dict(models),
        "source": {"topic": "conversation.events", "partition": 0, "offset": int(sha256_text(key)[:6], 16)},
        "schema_version": 1,
    }


def turn(conversation: str, event: str, seq: int, ts: str, text: str, policy: str = POLICY_A, **extra: Any) -> dict:
    """A turn audit record."""
    record = _common("turn", event, conversation, event, ts, policy, MODELS_A)
    record.update(
        seq=seq,
        channel="chat",
        speaker="customer" if seq % 2 == 0 else "agent",
        customer_id="cust-1",
        agent_id="agent-7",
        masked_text=text,
        pii_types=[],
        input_sha256=sha256_text("raw", event),
        context_missing=[],
        scores={
            "intent": "refund_request",
            "intent_confidence": 0.9,
            "sentiment": -0.2,
            "escalation_risk": 0.1,
            "compliance_risk": 0.0,
        },
    )
    record.update(extra)
    return record


def suggestion(
    conversation: str,
    event: str,
    suggestion_id: str,
    ts: str,
    status: str,
    rules: list[str],
    policy: str = POLICY_A,
    models: dict | None = None,
    **extra: Any,
) -> dict:
    """A suggestion audit record."""
    record = _common("suggestion", suggestion_id + status, conversation, event, ts, policy, models or MODELS_A)
    record.update(
        suggestion_id=suggestion_id,
        kind="reply",
        text=f"text of {suggestion_id}",
        confidence=0.8,
        status=status,
        rules_fired=rules,
        template_id="refund_request.ack.chat.v1",
        human_review=False,
        degraded=False,
        latency_ms={"fast": 3.5, "deep": 12.0},
        input_hashes={"turn": sha256_text("raw", event)},
    )
    record.update(extra)
    return record


def feedback(conversation: str, event: str, suggestion_id: str, ts: str, action: str, **extra: Any) -> dict:
    """A feedback audit record."""
    record = _common("feedback", event, conversation, event, ts, POLICY_A, MODELS_A)
    record.update(suggestion_id=suggestion_id, agent_id="agent-7", action=action, edited_text=None, found=True)
    record.update(extra)
    return record


def dead_letter(offset: int, error_type: str = "schema") -> dict:
    """A DLQ record of a rejected conversation event."""
    return {
        "error": f"field 'seq' is required (record {offset})",
        "error_type": error_type,
        "source": {"topic": "conversation.events", "partition": 0, "offset": offset, "timestamp_ms": 1795600000000},
        "failed_at": "2026-11-25T08:00:05.000Z",
        "raw_base64": base64.b64encode(b'{"text": "my card is 4111 1111 1111 1111"}').decode(),
        "key_base64": None,
    }


def known_dataset() -> list[dict]:
    """The known audit records the named-query tests answer from (see tests/integration/test_audit_queries.py)."""
    return [
        turn("conv-1", "ev-1", 0, "2026-11-25T08:00:00.000Z", "I want a refund"),
        suggestion("conv-1", "ev-1", "sug-1", "2026-11-25T08:00:00.100Z", "shown", []),
        suggestion("conv-1", "ev-1", "sug-2", "2026-11-25T08:00:00.100Z", "blocked", ["forbidden_phrase", "tone"]),
        turn("conv-1", "ev-2", 1, "2026-11-25T08:00:10.000Z", "Sure, let me check"),
        suggestion("conv-1", "ev-2", "sug-3", "2026-11-25T08:00:10.100Z", "shown", ["disclosure_added"]),
        turn("conv-2", "ev-3", 0, "2026-11-26T09:00:00.000Z", "Cancel my plan", policy=POLICY_B),
        suggestion(
            "conv-2",
            "ev-3",
            "sug-4",
            "2026-11-26T09:00:00.100Z",
            "blocked",
            ["forbidden_phrase"],
            policy=POLICY_B,
            models=MODELS_B,
        ),
        suggestion(
            "conv-2", "ev-3", "sug-5", "2026-11-26T09:00:00.100Z", "shown", [], policy=POLICY_B, models=MODELS_B
        ),
        feedback("conv-1", "fb-1", "sug-1", "2026-11-25T08:00:05.000Z", "accepted"),
        feedback("conv-1", "fb-2", "sug-3", "2026-11-25T08:00:15.000Z", "dismissed"),
        feedback("conv-2", "fb-3", "sug-5", "2026-11-26T09:00:05.000Z", "accepted"),
        feedback("conv-2", "fb-4", "sug-5", "2026-11-26T09:00:06.000Z", "edited", edited_text="Sure, done"),
    ]


def bulk_records(count: int, day: str = "2026-11-25", prefix: str = "bulk") -> list[dict]:
    """`count` distinct valid records cycling turn, suggestion (every third blocked by one rule), feedback."""
    records: list[dict] = []
    for i in range(count):
        conversation, event = f"{prefix}-{i // 30}", f"{prefix}-ev-{i}"
        ts = f"{day}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.000Z"
        if i % 3 == 0:
            records.append(turn(conversation, event, i % 30, ts, f"turn {i}"))
        elif i % 3 == 1:
            status, rules = ("blocked", ["forbidden_phrase"]) if i % 9 == 1 else ("shown", [])
            records.append(suggestion(conversation, event, f"{prefix}-sug-{i}", ts, status, rules))
        else:
            records.append(feedback(conversation, event, f"{prefix}-sug-{i - 1}", ts, "accepted"))
    return records
