"""The per-record path of the coaching job without Flink: route, score, coach, build every output."""

import base64
import json
import time
from dataclasses import replace

import pytest

from cuecard.settings import load_settings
from jobs.generator import CANARIES
from udfs.envelopes import mask_fields, newer_policy, route_input
from udfs.records import load_policy_file
from udfs.turn_processing import NEUTRAL_SCORES, TurnProcessor
from udfs.validation import validate

pytestmark = pytest.mark.unit

POLICY = load_policy_file(1)


@pytest.fixture(scope="module")
def processor():
    from models.build import build, default_cache_dir

    build(default_cache_dir(), report=False)
    return TurnProcessor.load(replace(load_settings({}), deep_tier=False))


def _raw_turn(event_id="conv-u-000", speaker="customer", text="I want my money back for this order", **extra):
    event = {
        "event_id": event_id,
        "conversation_id": "conv-u",
        "seq": int(event_id.rsplit("-", 1)[1]),
        "ts": "2026-11-25T09:00:00.000Z",
        "channel": "chat",
        "speaker": speaker,
        "text": text,
        "customer_id": "cust-u",
        "agent_id": "agent-u",
        "schema_version": 1,
        **extra,
    }
    return json.dumps(event).encode()


def _envelope(raw, offset=7):
    routed = route_input(raw, b"conv-u", "conversation.events", 1, offset, int(time.time() * 1000), 65536)
    assert routed.kind == "turn"
    envelope = dict(routed.payload)
    envelope["customer"] = {"customer_id": "cust-u", "tier": "gold"}
    envelope["stamps"]["joined"] = time.time()
    return envelope


def test_route_masks_text_and_metadata_before_anything_keeps_it():
    raw = _raw_turn(text=f"my card is {CANARIES['card_visa']}", metadata={"caller": CANARIES["phone_uk"]})
    routed = route_input(raw, b"conv-u", "conversation.events", 0, 3, 1_700_000_000_000, 65536)
    assert routed.kind == "turn" and routed.key == "conv-u"
    assert routed.payload["record"]["text"] == "my card is [CARD_LAST4:1111]"
    assert routed.payload["record"]["metadata"]["caller"] == "[PHONE]"
    assert set(routed.payload["pii_types"]) == {"CARD", "PHONE"}
    assert routed.payload["source"] == {"topic": "conversation.events", "partition": 0, "offset": 3}
    assert CANARIES["card_visa"] not in json.dumps(routed.payload)


@pytest.mark.parametrize(
    ("topic", "record", "kind"),
    [
        (
            "customer.context",
            {
                "customer_id": "c1",
                "updated_at": "2026-11-25T09:00:00.000Z",
                "schema_version": 1,
                "email": CANARIES["email"],
                "name": "Jane Canary",
            },
            "customer",
        ),
        (
            "agent.state",
            {"agent_id": "a1", "updated_at": "2026-11-25T09:00:00.000Z", "status": "on_call", "schema_version": 1},
            "reference",
        ),
        ("coaching.policies", POLICY, "reference"),
    ],
)
def test_route_sends_reference_data_to_its_side(topic, record, kind):
    routed = route_input(json.dumps(record).encode(), None, topic, 0, 0, 0, 65536)
    assert routed.kind == kind
    assert CANARIES["email"] not in json.dumps(routed.payload)
    assert "Canary" not in json.dumps(routed.payload)


def test_route_rejects_into_a_dlq_record_and_never_raises():
    routed = route_input(b"\x00{not json", b"k", "conversation.events", 2, 9, 5, 65536)
    assert routed.kind == "dlq" and routed.key == "k"
    assert routed.payload["error_type"] == "json"
    assert routed.payload["source"] == {"topic": "conversation.events", "partition": 2, "offset": 9, "timestamp_ms": 5}
    assert validate("dlq_record", routed.payload) is None


def test_mask_fields_leaves_ids_and_numbers_alone():
    masked, types = mask_fields(
        "customer.context",
        {"customer_id": "4111111111111111", "open_cases": 2, "notes": f"call {CANARIES['phone_us']}"},
        lambda text: ("[PHONE]", ["PHONE"]) if "555" in text else (text, []),
    )
    assert masked == {"customer_id": "4111111111111111", "open_cases": 2, "notes": "[PHONE]"}
    assert types == ["PHONE"]


def test_newer_policy_is_monotonic():
    v1, v2 = load_policy_file(1), load_policy_file(2)
    assert newer_policy(None, v1)
    assert newer_policy(v1, v2)
    assert not newer_policy(v2, v1)
    assert not newer_policy(v2, v2)


def test_turn_outputs_conform_to_their_schemas(processor):
    outcome = processor.turn(_envelope(_raw_turn()), None, {"agent_id": "agent-u"}, POLICY)
    assert outcome.suggestions and outcome.state is not None
    for suggestion in outcome.suggestions:
        assert validate("suggestion", suggestion) is None, validate("suggestion", suggestion)
        assert suggestion["status"] == "shown" and suggestion["policy_version"] == POLICY["version"]
        assert suggestion["latency_ms"]["total"] >= suggestion["latency_ms"]["coach"] >= 0
    for record in outcome.audit:
        assert validate("audit_record", record) is None, validate("audit_record", record)
    turn_records = [r for r in outcome.audit if r["record_type"] == "turn"]
    assert len(turn_records) == 1 and turn_records[0]["scores"]["intent"] == "refund_request"
    assert turn_records[0]["source"]["offset"] == 7
    audited = {r["suggestion_id"] for r in outcome.audit if r["record_type"] == "suggestion"}
    assert {s["suggestion_id"] for s in outcome.suggestions} <= audited
    assert set(outcome.shown_index) == {s["suggestion_id"] for s in outcome.suggestions}


def test_challenger_is_audited_as_shadow_and_never_shown(processor):
    outcome = processor.turn(_envelope(_raw_turn()), None, None, POLICY)
    shadow = [r for r in outcome.audit if r.get("status") == "shadow"]
    assert shadow, "the registry has an intent challenger, so shadow records are expected"
    assert all(r["model_versions"] != outcome.suggestions[0]["model_versions"] for r in shadow)
    assert not {r["suggestion_id"] for r in shadow} & {s["suggestion_id"] for s in outcome.suggestions}


def test_missing_context_is_flagged_not_guessed(processor):
    envelope = _envelope(_raw_turn())
    envelope["customer"] = None
    outcome = processor.turn(envelope, None, None, None)
    turn_record = next(r for r in outcome.audit if r["record_type"] == "turn")
    assert turn_record["context_missing"] == ["customer", "agent", "policy"]
    assert turn_record["policy_version"] is None
    assert not outcome.suggestions, "without a policy, library suggestions are blocked (fail closed)"


def test_a_failing_fast_tier_degrades_the_turn(processor, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(processor.scorer, "score", broken)
    outcome = processor.turn(_envelope(_raw_turn()), None, None, POLICY)
    turn_record = next(r for r in outcome.audit if r["record_type"] == "turn")
    assert outcome.degraded
    assert turn_record["scores"] == NEUTRAL_SCORES.as_dict()
    assert "fast tier error" in turn_record["degraded_reason"]


def test_feedback_joins_the_suggestion_it_answers(processor):
    outcome = processor.turn(_envelope(_raw_turn()), None, None, POLICY)
    suggestion_id, summary = next(iter(outcome.shown_index.items()))
    feedback = {
        "record": {
            "event_id": "fb-1",
            "conversation_id": "conv-u",
            "suggestion_id": suggestion_id,
            "agent_id": "agent-u",
            "action": "edited",
            "edited_text": "[EMAIL] noted",
            "ts": "2026-11-25T09:00:05.000Z",
            "schema_version": 1,
        },
        "source": {"topic": "agent.feedback", "partition": 0, "offset": 1},
    }
    known = processor.feedback(feedback, summary).audit[0]
    assert known["found"] and known["model_versions"] == summary["model_versions"]
    assert validate("audit_record", known) is None, validate("audit_record", known)
    unknown = processor.feedback(feedback, None).audit[0]
    assert not unknown["found"] and unknown["audit_id"] == known["audit_id"]


def test_no_canary_reaches_any_output(processor):
    state = None
    for seq, canary in enumerate(("card_visa", "email", "ssn", "iban_grouped", "phone_intl", "address")):
        raw = _raw_turn(f"conv-u-{seq:03d}", text=f"please update it, it is {CANARIES[canary]}")
        outcome = processor.turn(_envelope(raw), state, None, POLICY)
        state = outcome.state
        dumped = json.dumps([outcome.suggestions, outcome.alerts, outcome.audit, outcome.state])
        assert CANARIES[canary] not in dumped, canary


def test_a_record_the_coaching_code_fails_on_is_parked_in_the_dlq_masked():
    from udfs.envelopes import processing_failure

    envelope = _envelope(_raw_turn(text=f"my card is {CANARIES['card_visa']}"), offset=41)
    record = processing_failure(envelope, KeyError(f"boom {CANARIES['card_visa']}"), "coach")
    assert validate("dlq_record", record) is None, validate("dlq_record", record)
    assert record["error"] == "coach failed: KeyError" and record["error_type"] == "processing"
    assert record["source"]["offset"] == 41 and record["source"]["topic"] == "conversation.events"
    kept = json.loads(base64.b64decode(record["raw_base64"]))
    assert kept["text"] == "my card is [CARD_LAST4:1111]"
    assert CANARIES["card_visa"] not in json.dumps(record)
