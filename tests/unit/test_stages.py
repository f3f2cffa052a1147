"""The coaching core through the local runner: ingest, join, coach and every output, without Flink."""

import base64
import json
import time

import pytest

from jobs.generator import CANARIES
from udfs.envelopes import Envelope, RawRecord, Rejected, canonical_hash
from udfs.records import load_policy_file, newer_policy
from udfs.runner import LocalRunner, routing_key
from udfs.settings import load_settings
from udfs.stages import NEUTRAL_SCORES, CoachingCore, ingest, mask_fields, processing_failure
from udfs.validation import validate

POLICY = load_policy_file(1)
AGENT = {"agent_id": "agent-u", "updated_at": "2026-11-25T09:00:00.000Z", "status": "on_call", "schema_version": 1}
CUSTOMER = {"customer_id": "cust-u", "updated_at": "2026-11-25T09:00:00.000Z", "schema_version": 1, "tier": "gold"}


@pytest.fixture(scope="module")
def core():
    from models.build import build, default_cache_dir

    build(default_cache_dir(), report=False)
    return CoachingCore.load(load_settings({}).with_overrides(deep_tier=False))


def _raw(topic, value, offset=7, key=None):
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return RawRecord(topic, 1, offset, int(time.time() * 1000), key, data)


def _turn(seq=0, speaker="customer", text="I want my money back for this order", **extra):
    return {
        "event_id": f"conv-u-{seq:03d}",
        "conversation_id": "conv-u",
        "seq": seq,
        "ts": "2026-11-25T09:00:00.000Z",
        "channel": "chat",
        "speaker": speaker,
        "text": text,
        "customer_id": "cust-u",
        "agent_id": "agent-u",
        "schema_version": 1,
        **extra,
    }


def _runner(core, *reference):
    runner = LocalRunner(core)
    for topic, value in reference:
        assert not runner.feed(_raw(topic, value)).dlq
    return runner


def _with_context(core):
    return _runner(core, ("coaching.policies", POLICY), ("agent.state", AGENT), ("customer.context", CUSTOMER))


def test_ingest_masks_text_and_metadata_before_anything_keeps_it():
    raw = _raw(
        "conversation.events", _turn(text=f"my card is {CANARIES['card_visa']}", metadata={"c": CANARIES["phone_uk"]})
    )
    envelope = ingest(raw, max_bytes=65536)
    assert isinstance(envelope, Envelope) and envelope.kind == "turn" and envelope.key == "conv-u"
    assert envelope.record["text"] == "my card is [CARD_LAST4:1111]"
    assert envelope.record["metadata"]["c"] == "[PHONE]"
    assert envelope.pii_types == ("CARD", "PHONE")
    assert envelope.source.as_dict() == {"topic": "conversation.events", "partition": 1, "offset": 7}
    assert CANARIES["card_visa"] not in repr(envelope)


def test_ingest_rejects_into_a_dlq_record_and_never_raises():
    rejected = ingest(RawRecord("conversation.events", 2, 9, 5, b"k", b"\x00{not json"), max_bytes=65536)
    assert isinstance(rejected, Rejected) and rejected.key == "k"
    assert rejected.dlq_record["error_type"] == "json"
    assert rejected.dlq_record["source"] == {
        "topic": "conversation.events",
        "partition": 2,
        "offset": 9,
        "timestamp_ms": 5,
    }
    assert validate("dlq_record", rejected.dlq_record) is None


def test_mask_fields_leaves_ids_and_numbers_alone():
    masked, types = mask_fields(
        "customer.context",
        {"customer_id": "4111111111111111", "open_cases": 2, "notes": f"call {CANARIES['phone_us']}", "name": "Jo"},
    )
    assert masked == {"customer_id": "4111111111111111", "open_cases": 2, "notes": "call [PHONE]", "name": "[NAME]"}
    assert types == ("NAME", "PHONE")


def test_newer_policy_is_monotonic():
    v1, v2 = load_policy_file(1), load_policy_file(2)
    assert newer_policy(None, v1) and newer_policy(v1, v2)
    assert not newer_policy(v2, v1) and not newer_policy(v2, v2)


def test_reference_data_is_masked_in_broadcast_state(core):
    runner = _runner(core, ("customer.context", {**CUSTOMER, "email": CANARIES["email"], "name": "Jane Canary"}))
    stored = runner.reference.get("customer:cust-u").record
    assert stored["email"] == "[EMAIL]" and stored["name"] == "[NAME]"
    dumped = repr(runner.reference)
    assert CANARIES["email"] not in dumped and "Canary" not in dumped
    assert runner.reference.get("customer:cust-u").sha256 == canonical_hash(stored)


def test_an_older_policy_does_not_replace_the_active_one(core):
    runner = _runner(core, ("coaching.policies", load_policy_file(2)), ("coaching.policies", POLICY))
    assert runner.reference.get("policy").record["version"] == load_policy_file(2)["version"]


def test_turn_outputs_conform_to_their_schemas_and_state_remembers_what_was_shown(core):
    runner = _with_context(core)
    outcome = runner.feed(_raw("conversation.events", _turn()))
    assert outcome.suggestions and outcome.key == "conv-u"
    for suggestion in outcome.suggestions:
        assert validate("suggestion", suggestion) is None, validate("suggestion", suggestion)
        assert suggestion["status"] == "shown" and suggestion["policy_version"] == POLICY["version"]
        assert suggestion["latency_ms"]["total"] >= suggestion["latency_ms"]["coach"] >= 0
    for record in outcome.audit:
        assert validate("audit_record", record) is None, validate("audit_record", record)
    turn_records = [r for r in outcome.audit if r["record_type"] == "turn"]
    assert len(turn_records) == 1 and turn_records[0]["scores"]["intent"] == "refund_request"
    assert turn_records[0]["context_missing"] == [] and turn_records[0]["source"]["offset"] == 7
    audited = {r["suggestion_id"] for r in outcome.audit if r["record_type"] == "suggestion"}
    assert {s["suggestion_id"] for s in outcome.suggestions} <= audited
    store = runner.store("conv-u")
    assert store.conversation.value()["turns"] == 1
    assert all(store.shown.get(s["suggestion_id"]) for s in outcome.suggestions)


def test_a_redelivered_turn_is_not_coached_twice(core):
    runner = _with_context(core)
    first = runner.feed(_raw("conversation.events", _turn()))
    again = runner.feed(_raw("conversation.events", _turn(), offset=8))
    assert first.suggestions and not again.suggestions
    assert runner.store("conv-u").conversation.value()["turns"] == 1


def test_challenger_is_audited_as_shadow_and_never_shown(core):
    outcome = _with_context(core).feed(_raw("conversation.events", _turn()))
    shadow = [r for r in outcome.audit if r.get("status") == "shadow"]
    assert shadow, "the registry has an intent challenger, so shadow records are expected"
    assert all(r["model_versions"] != outcome.suggestions[0]["model_versions"] for r in shadow)
    assert not {r["suggestion_id"] for r in shadow} & {s["suggestion_id"] for s in outcome.suggestions}


def test_missing_context_is_flagged_not_guessed(core):
    outcome = LocalRunner(core).feed(_raw("conversation.events", _turn()))
    turn_record = next(r for r in outcome.audit if r["record_type"] == "turn")
    assert turn_record["context_missing"] == ["customer", "agent", "policy"]
    assert turn_record["policy_version"] is None
    assert not outcome.suggestions, "without a policy, library suggestions are blocked (fail closed)"


def test_a_failing_fast_tier_degrades_the_turn(core, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(core.scorer, "score", broken)
    outcome = _with_context(core).feed(_raw("conversation.events", _turn()))
    turn_record = next(r for r in outcome.audit if r["record_type"] == "turn")
    assert outcome.counts["degraded"] == 1
    assert turn_record["scores"] == NEUTRAL_SCORES.as_dict()
    assert "fast tier error" in turn_record["degraded_reason"]


def test_feedback_joins_the_suggestion_it_answers(core):
    runner = _with_context(core)
    shown = runner.feed(_raw("conversation.events", _turn())).suggestions[0]
    feedback = {
        "event_id": "fb-1",
        "conversation_id": "conv-u",
        "suggestion_id": shown["suggestion_id"],
        "agent_id": "agent-u",
        "action": "edited",
        "edited_text": f"{CANARIES['email']} noted",
        "ts": "2026-11-25T09:00:05.000Z",
        "schema_version": 1,
    }
    known = runner.feed(_raw("agent.feedback", feedback, offset=1)).audit[0]
    assert known["found"] and known["model_versions"] == shown["model_versions"]
    assert known["edited_text"] == "[EMAIL] noted"
    assert validate("audit_record", known) is None, validate("audit_record", known)
    unknown = LocalRunner(core).feed(_raw("agent.feedback", feedback, offset=1)).audit[0]
    assert not unknown["found"] and unknown["audit_id"] == known["audit_id"]


def test_no_canary_reaches_any_output_or_state(core):
    runner = _with_context(core)
    for seq, canary in enumerate(("card_visa", "email", "ssn", "iban_grouped", "phone_intl", "address")):
        outcome = runner.feed(
            _raw("conversation.events", _turn(seq, text=f"please update it, it is {CANARIES[canary]}"))
        )
        dumped = json.dumps(
            [outcome.suggestions, outcome.alerts, outcome.audit, runner.store("conv-u").conversation.value()]
        )
        assert CANARIES[canary] not in dumped, canary


def test_a_record_the_coaching_code_fails_on_is_parked_in_the_dlq_masked(core, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError(f"boom {CANARIES['card_visa']}")

    monkeypatch.setattr(core, "coach", broken)
    runner = _with_context(core)
    outcome = runner.feed(_raw("conversation.events", _turn(text=f"my card is {CANARIES['card_visa']}"), offset=41))
    (record,) = outcome.dlq
    assert validate("dlq_record", record) is None, validate("dlq_record", record)
    assert record["error"] == "coach failed: KeyError" and record["error_type"] == "processing"
    assert record["source"]["offset"] == 41 and record["source"]["topic"] == "conversation.events"
    assert json.loads(base64.b64decode(record["raw_base64"]))["text"] == "my card is [CARD_LAST4:1111]"
    assert CANARIES["card_visa"] not in json.dumps(record)
    assert runner.store("conv-u").conversation.value() is None, "a failed turn leaves state untouched"


def test_processing_failure_names_only_the_exception_type():
    envelope = ingest(_raw("conversation.events", _turn()), max_bytes=65536)
    assert isinstance(envelope, Envelope)
    assert processing_failure(envelope, ValueError("secret detail"))["error"] == "coach failed: ValueError"


def test_routing_key_is_the_conversation_in_the_value_with_the_kafka_key_as_fallback():
    assert routing_key(_raw("conversation.events", _turn(), key=b"wrong")) == "conv-u"
    assert routing_key(_raw("conversation.events", b"{broken", key=b"k1")) == "k1"
    assert routing_key(_raw("conversation.events", b"[]")) == ""


def test_the_agents_question_tells_how_the_customers_answer_is_masked(core):
    runner = _with_context(core)
    runner.feed(_raw("conversation.events", _turn(0, "agent", "Can you confirm your date of birth, please?")))
    assert runner.store("conv-u").conversation.value()["awaiting_pii"] == "DOB"
    answer = runner.feed(_raw("conversation.events", _turn(1, "customer", "09/10/58")))
    turn_record = next(r for r in answer.audit if r["record_type"] == "turn")
    assert turn_record["masked_text"] == "[DOB]" and turn_record["pii_types"] == ["DOB"]
    assert runner.store("conv-u").conversation.value()["awaiting_pii"] is None
    # Without the question the same text is not a birth date.
    plain = LocalRunner(core).feed(_raw("conversation.events", _turn(1, "customer", "09/10/58")))
    assert next(r for r in plain.audit if r["record_type"] == "turn")["masked_text"] == "09/10/58"


def test_a_card_seen_under_the_topic_gives_way_to_the_next_best(core):
    runner = _with_context(core)
    first = runner.feed(_raw("conversation.events", _turn(0), offset=1)).suggestions
    again = runner.feed(_raw("conversation.events", _turn(1, text="I still want my money back for it"), offset=2))
    seen = {s["template_id"] for s in first if s["template_id"]}
    shown_again = [s for s in again.suggestions if s["template_id"] in seen]
    held = [a for a in again.audit if "rank.already_shown" in a.get("rules_fired", ())]
    assert seen and not shown_again and held
    assert all(s["reason"] for s in (*first, *again.suggestions))


def test_what_ingest_changed_is_in_the_turn_audit_record(core):
    turn = {**_turn(), "ts": 1764061200123, "crm_channel_ref": "x-1"}
    outcome = _with_context(core).feed(_raw("conversation.events", turn))
    record = next(a for a in outcome.audit if a["record_type"] == "turn")
    assert record["event_ts"] == "2025-11-25T09:00:00.123Z"
    assert any("crm_channel_ref" in note for note in record["ingest_notes"])


def test_a_redelivered_turn_is_counted_and_never_coached_or_audited_twice(core):
    runner = _with_context(core)
    first = runner.feed(_raw("conversation.events", _turn(0), offset=1))
    again = runner.feed(_raw("conversation.events", _turn(0), offset=2))
    assert any(a["record_type"] == "turn" for a in first.audit)
    assert (again.audit, again.suggestions, again.alerts) == ((), (), ())
    assert again.counts == {"redelivered": 1}
    for seq in range(1, 12):
        runner.feed(_raw("conversation.events", _turn(seq, text=f"and another thing {seq}"), offset=2 + seq))
    # Older than the ids state keeps: recognised by its seq.
    assert runner.feed(_raw("conversation.events", _turn(0), offset=20)).counts == {"redelivered": 1}
