"""The hand-written evaluation set loads, covers what issue 9 asks for and agrees with its policy."""

import json
import re
from pathlib import Path

import pytest

from models.eval.dataset import (
    NEW_NAMES,
    SITUATIONS,
    UNCLEAR,
    Conversation,
    DatasetError,
    Turn,
    load_conversations,
)
from udfs.records import Policy
from udfs.scores import INTENT_LABELS

README = Path(__file__).resolve().parents[2] / "models" / "eval" / "README.md"
POLICY = Policy.load_default(2)  # the expectations are written against contact-center-default 2026.11.2
BREACH_ALERTS = {"forbidden_phrase", "agent_pii", "notice_contradiction"}
SPOKEN = {"thirty": "30"}  # a voice agent says "thirty days"; the disclosure is the same


@pytest.fixture(scope="module")
def conversations() -> list[Conversation]:
    return load_conversations()


def customer_turns(conversations: list[Conversation]) -> list[tuple[Conversation, Turn]]:
    return [(c, t) for c in conversations for t in c.turns if t.speaker == "customer"]


def test_set_size_channels_and_samples(conversations):
    assert len(conversations) >= 45
    by_channel = {ch: [c for c in conversations if c.channel == ch] for ch in ("chat", "voice", "email")}
    assert all(len(cs) >= 10 for cs in by_channel.values()), {k: len(v) for k, v in by_channel.items()}
    samples = [c for c in conversations if c.reading_sample]
    assert 6 <= len(samples) <= 10
    assert {c.channel for c in samples} == {"chat", "voice", "email"}
    assert sum(c.clean for c in conversations) >= 20
    assert sum(t.expect.breach is not None for c in conversations for t in c.turns) >= 8


def test_every_situation_is_covered(conversations):
    seen = {s for c in conversations for s in c.situations}
    assert seen == set(SITUATIONS)


def test_intents_are_contract_labels_or_unclear(conversations):
    labels = set(INTENT_LABELS) | {UNCLEAR}
    used = {t.expect.intent for _, t in customer_turns(conversations)}
    assert used <= labels
    assert UNCLEAR in used
    assert all(t.expect.intent is None for c in conversations for t in c.turns if t.speaker == "agent")


def test_every_new_name_is_documented():
    text = README.read_text(encoding="utf-8")
    missing = [name for name in NEW_NAMES if f"`{name}`" not in text]
    assert not missing


def test_voice_turns_are_asr_style(conversations):
    for c in conversations:
        if c.channel == "voice":
            for t in c.turns:
                assert t.text == t.text.lower() and not re.search(r"[0-9.,?!]", t.text), (c.conversation_id, t.seq)


def _has(matches, kind=None, intent=None):
    return any((kind is None or m.kind == kind) and (intent is None or m.intent == intent) for m in matches)


def test_hard_situations_carry_their_expectation(conversations):
    def tagged(situation):
        found = [c for c in conversations if situation in c.situations]
        assert found, situation
        return found

    for c in tagged("double_charge_card_mention"):
        assert any(_has(t.expect.cards_must_not_include, intent="card_lost_stolen") for t in c.turns)
    for c in tagged("safe_account_scam"):
        assert any(
            _has(t.expect.cards_must_include, kind="fraud_playbook") and "app_scam" in t.expect.alerts for t in c.turns
        )
    for c in tagged("customer_reads_pii"):
        assert any(
            _has(t.expect.cards_must_include, kind="pii_nudge") and "customer_volunteered_pii" in t.expect.alerts
            for t in c.turns
        )
    for c in tagged("booking_reference_answer"):
        assert any(
            t.speaker == "customer" and t.expect.topic and _has(t.expect.cards_must_not_include, intent="greeting")
            for t in c.turns
        )
    assert any(
        _has(t.expect.cards_must_not_include, intent="update_details")
        for c in tagged("dob_verification")
        for t in c.turns
    )
    for c in tagged("agent_warns_not_to_share"):
        assert any(
            t.speaker == "agent"
            and t.expect.breach is None
            and _has(t.expect.cards_must_not_include, "compliance_alert")
            for t in c.turns
        )
    for c in tagged("agent_denies_recording"):
        assert any(t.expect.breach and t.expect.breach.rule == "notice_contradiction" for t in c.turns)
    for c in tagged("forbidden_inflection"):
        breaches = [t for t in c.turns if t.expect.breach and t.expect.breach.rule == "forbidden_phrase"]
        # No phrase occurs word for word: they test the inflected and spoken forms.
        verbatim = [re.compile(rf"(?<!\w){re.escape(p)}(?!\w)", re.I) for p in POLICY.forbidden_phrases]
        assert breaches and not any(v.search(t.text) for v in verbatim for t in breaches), c.conversation_id
    for c in tagged("manager_after_other_alert"):
        first = next(i for i, t in enumerate(c.turns) if "manager_requested" in t.expect.alerts)
        assert any(t.expect.alerts for t in c.turns[:first]), c.conversation_id


def test_breaches_and_clean_turns_are_consistent(conversations):
    for c in conversations:
        for t in c.turns:
            where = (c.conversation_id, t.seq)
            breach = t.expect.breach
            if breach is None:
                assert not BREACH_ALERTS.intersection(t.expect.alerts), where
            elif breach.rule in BREACH_ALERTS:
                assert breach.rule in t.expect.alerts, where
            else:
                assert _has(t.expect.cards_must_include, kind="compliance_alert"), where
            assert len(t.expect.cards_must_include) <= 3, where


def test_alerts_follow_the_policy(conversations):
    """high_risk_intent once per high-risk intent, manager_requested at the first request, and
    missing_disclosure at the customer's first closing turn exactly when a required disclosure is missing."""
    for c in conversations:
        seen, said, closed = set(), set(), False
        once = {"escalation_risk": 0, "angry_trajectory": 0}
        for t in c.turns:
            where = (c.conversation_id, t.seq)
            alerts = set(t.expect.alerts)
            for name in once:
                once[name] += name in alerts
            if t.speaker == "agent":
                lower = " ".join(SPOKEN.get(w, w) for w in t.text.lower().split())
                said |= {d.disclosure_id for d in POLICY.all_disclosures().values() if d.said_in(lower)}
                continue
            intent = t.expect.intent
            first = intent not in seen
            seen.add(intent)
            assert ("high_risk_intent" in alerts) == (first and intent in POLICY.high_risk_intents), where
            assert ("manager_requested" in alerts) == (first and intent == "speak_to_human"), where
            if intent == "closing" and not closed:
                closed = True
                pending = {d.disclosure_id for i in seen for d in POLICY.disclosures_for(i)} - said
                assert ("missing_disclosure" in alerts) == bool(pending), (where, pending)
            else:
                assert "missing_disclosure" not in alerts, where
        assert max(once.values()) <= 1, c.conversation_id


def test_events_are_unique_and_ordered(conversations):
    ids = [e["event_id"] for c in conversations for e in c.events()]
    assert len(ids) == len(set(ids))
    for c in conversations:
        stamps = [e["ts"] for e in c.events()]
        assert stamps == sorted(stamps)


def test_a_bad_file_names_file_and_turn(tmp_path):
    good = sorted((README.parent / "conversations").glob("*.json"))[0]
    raw = json.loads(good.read_text(encoding="utf-8"))
    raw["conversation_id"] = "bad-one"
    raw["turns"][1]["expect"]["alerts"] = ["not_an_alert"]
    (tmp_path / "bad-one.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"^bad-one\.json: turn 1: expect\.alerts"):
        load_conversations(tmp_path)
    raw["turns"][1]["expect"] = {"intent": "not_a_label", "alerts": []} | ({"breach": False})
    raw["turns"][1]["speaker"] = "customer"
    (tmp_path / "bad-one.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"turn 1: expect\.intent 'not_a_label'"):
        load_conversations(tmp_path)
