import argparse
import json
import re

import pytest

from cuecard.generate_cmd import register, run_generate
from cuecard.kafka_clients import parse_feed_line
from jobs.generator import (
    ANGRY,
    CANARIES,
    CUSTOMER_CLOSING,
    KEEP,
    MALFORMED_KINDS,
    NO_CONTEXT_CUSTOMER,
    OPENERS,
    GeneratorConfig,
    generate,
    to_line,
)
from udfs.coaching import coach_turn
from udfs.pii import mask_pii
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores
from udfs.settings import SettingsError
from udfs.turn_work import JoinedContext
from udfs.validation import Rejected, Valid, decode_and_validate

MAX = 64 * 1024


def lines(**kwargs) -> list[str]:
    return [to_line(item) for item in generate(GeneratorConfig(**kwargs))]


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    assert lines(seed=4, conversations=30) == lines(seed=4, conversations=30)
    assert lines(seed=4, conversations=30) != lines(seed=5, conversations=30)


def test_reference_records_come_first_and_policy_v2_midway() -> None:
    items = list(generate(GeneratorConfig(seed=2, conversations=40)))
    assert items[0]["topic"] == "coaching.policies" and items[0]["value"]["version"] == "2026.11.1"
    first_turn = next(i for i, item in enumerate(items) if item["topic"] == "conversation.events")
    assert {item["topic"] for item in items[1:first_turn]} == {"agent.state", "customer.context"}
    versions = [
        (i, item["value"]["version"])
        for i, item in enumerate(items)
        if item["topic"] == "coaching.policies" and "thresholds" in item.get("value", {})
    ]
    assert [v for _, v in versions] == ["2026.11.1", "2026.11.2"]
    turns = [i for i, item in enumerate(items) if item["topic"] == "conversation.events" and "value" in item]
    before_v2 = sum(1 for i in turns if i < versions[1][0])
    assert abs(before_v2 - len(turns) / 2) <= len(turns) * 0.1


def test_coverage_of_channels_intents_personas_and_missing_context() -> None:
    items = list(generate(GeneratorConfig(seed=2, conversations=40, malformed_every=0)))
    events = [item["value"] for item in items if item["topic"] == "conversation.events" and "value" in item]
    texts = " ".join(e["text"] for e in events).lower().replace(",", "")
    assert {e["channel"] for e in events} == {"chat", "voice", "email"}
    for intent, openers in OPENERS.items():
        assert any(o.lower().replace(",", "")[5:40] in texts for o in openers), intent
    assert any(a.lower().replace(",", "") in texts for a in ANGRY)
    assert "completely free" in texts and "guarantee" in texts
    contexts = {item["key"] for item in items if item["topic"] == "customer.context"}
    assert any(e["customer_id"] == NO_CONTEXT_CUSTOMER for e in events)
    assert NO_CONTEXT_CUSTOMER not in contexts
    for event in events:
        seqs = [e["seq"] for e in events if e["conversation_id"] == event["conversation_id"]]
        assert seqs == sorted(seqs)


def test_valid_records_validate_and_every_malformed_kind_lands_in_the_dlq() -> None:
    rejected_types = set()
    for n, line in enumerate(lines(seed=3, conversations=60, malformed_every=5)):
        record = parse_feed_line(line, n)
        result = decode_and_validate(record.value, record.topic, 0, n, 0, MAX, record.key)
        item = json.loads(line)
        value = item.get("value", {})
        malformed = (
            "value" not in item
            or str(value.get("event_id", "")).startswith("bad-")
            or (record.topic == "coaching.policies" and "thresholds" not in value)
            or value.get("tier") == "diamond"
        )
        assert isinstance(result, Rejected) == malformed, line[:200]
        if isinstance(result, Rejected):
            rejected_types.add(result.dlq_record["error_type"])
    assert rejected_types == {"json", "missing_field", "enum", "schema", "oversize"}
    assert len(MALFORMED_KINDS) == 8


def _fake_scores(event: dict) -> FastScores:
    """Keyword scores standing in for the ONNX fast tier."""
    text = event["text"].lower().replace(",", "")
    intent, confidence = "other", 0.3
    for label, openers in OPENERS.items():
        if any(o.lower().replace(",", "")[5:40] in text for o in openers):
            intent, confidence = label, 0.9
    if event["text"] in CUSTOMER_CLOSING:
        intent, confidence = "closing", 0.9
    angry = any(a.lower().replace(",", "") in text for a in ANGRY)
    agent = event["speaker"] == "agent"
    return FastScores(intent, confidence, -0.8 if angry else 0.1, 0.9 if angry else 0.1, 0.7 if agent else 0.0)


def test_pii_canaries_never_reach_suggestions_alerts_or_state() -> None:
    library = ResponseLibrary.load()
    states: dict[str, object] = {}
    policy = None
    outputs: list[str] = []
    texts: list[str] = []
    kept = 0
    for n, line in enumerate(lines(seed=3, conversations=80, malformed_every=0)):
        record = parse_feed_line(line, n)
        result = decode_and_validate(record.value, record.topic, 0, n, 0, MAX, record.key)
        assert isinstance(result, Valid)
        if record.topic == "coaching.policies":
            policy = result.record
        if record.topic != "conversation.events":
            continue
        event = dict(result.record)
        masked = mask_pii(event["text"])
        for value in KEEP.values():
            if value in event["text"]:
                assert value in masked.masked_text  # non-PII numbers survive masking
                kept += 1
        event["text"] = masked.masked_text
        scores = _fake_scores(result.record)
        coached = coach_turn(
            event,
            JoinedContext(None, None, ("customer", "agent")),
            states.get(event["conversation_id"]),  # type: ignore[arg-type]
            policy,
            scores,
            ranked=None,
            degraded=False,
            library=library,
            model_versions={"intent": "fake@1"},
            pii_types=masked.pii_types,
        )
        states[event["conversation_id"]] = coached.new_state
        outputs += [json.dumps(s.to_dict("2026-11-25T08:00:00.000Z")) for s in coached.suggestions]
        outputs += [json.dumps(a.to_dict("2026-11-25T08:00:00.000Z")) for a in coached.alerts]
        outputs.append(json.dumps(coached.new_state.to_dict()))
        texts += [s.text for s in coached.suggestions] + [a.message for a in coached.alerts]
        texts += [t["text"] for t in coached.new_state.recent_turns]
    blob = "\n".join(outputs)
    assert "[CARD_LAST4:" in blob and "[EMAIL]" in blob  # the canaries did flow through, masked
    compact = re.sub(r"[\s\-().+/]", "", re.sub(r"[0-9a-f]{64}", "", blob))  # ids hold any digit string
    free_text = "\n".join(texts).lower()
    for name, value in CANARIES.items():
        assert not re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", free_text), name
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 6:
            assert digits not in compact, name
    assert kept > 0


def test_generate_command_writes_file_and_reads_env(tmp_path, monkeypatch, capsys) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "feed.jsonl"
    args = parser.parse_args(["generate", "--seed", "6", "--conversations", "5", "--out", str(out)])
    assert args.func is run_generate
    assert run_generate(args) == 0
    written = out.read_text().splitlines()
    assert written == lines(seed=6, conversations=5)
    monkeypatch.setenv("CUECARD_SEED", "6")
    monkeypatch.setenv("CUECARD_CONVERSATIONS", "5")
    assert run_generate(parser.parse_args(["generate"])) == 0
    assert capsys.readouterr().out.splitlines() == written
    monkeypatch.setenv("CUECARD_CONVERSATIONS", "many")
    with pytest.raises(SettingsError, match="CUECARD_CONVERSATIONS='many' is not a whole number"):
        run_generate(parser.parse_args(["generate"]))
    monkeypatch.delenv("CUECARD_CONVERSATIONS")
    with pytest.raises(SettingsError, match="negative"):
        run_generate(parser.parse_args(["generate", "--conversations", "-1"]))
