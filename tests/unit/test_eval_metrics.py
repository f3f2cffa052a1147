"""`cuecard eval`: the scoring rules on hand-made observations, and a small subset run through the real core."""

import json
from pathlib import Path

import pytest

from cuecard.eval_cmd import on_screen, run_conversations
from models.eval.dataset import DEFAULT_DIR, load_conversations, parse_conversation
from models.eval.metrics import Card, Observed, score

CONVERSATION = {
    "conversation_id": "t-1",
    "channel": "chat",
    "title": "t",
    "moods": ["routine"],
    "reading_sample": False,
    "customer_id": "c",
    "agent_id": "a",
    "started_at": "2026-11-02T16:00:00Z",
    "turns": [
        {
            "speaker": "customer",
            "text": "refund please",
            "expect": {
                "intent": "refund_request",
                "alerts": ["high_risk_intent"],
                "cards_must_include": [{"intent": "refund_request", "why": "r"}],
                "cards_must_not_include": [{"kind": "escalation", "why": "e"}],
            },
        },
        {"speaker": "agent", "text": "ok", "expect": {"breach": False, "alerts": []}},
        {
            "speaker": "agent",
            "text": "i guarantee it",
            "expect": {"breach": {"rule": "forbidden_phrase", "why": "w"}, "alerts": ["forbidden_phrase"]},
        },
    ],
}


def _conv():
    return parse_conversation(CONVERSATION, Path("t-1.json"))


def test_a_perfect_run_meets_every_expectation():
    observed = {
        "t-1:0": Observed(
            "refund_request", "refund_request", (Card("reply", "refund_request"),), ("high_risk_intent",)
        ),
        "t-1:1": Observed("unclear", None, (), ()),
        "t-1:2": Observed("unclear", None, (Card("compliance_alert", None),), ("forbidden_phrase",)),
    }
    report = score([_conv()], observed)
    assert report.failures == []
    assert (report.expectations.hits, report.expectations.total) == (7, 7)
    assert report.intent.value == 1.0 and report.breaches_flagged.value == 1.0
    assert dict((k, (p.value, r.value)) for k, p, r in report.alert_table()) == {
        "forbidden_phrase": (1.0, 1.0),
        "high_risk_intent": (1.0, 1.0),
    }


def test_misses_false_alarms_and_false_flags_are_counted():
    disclosure = Card("compliance_alert", None, ("policy.required_disclosure:refund_request:refund_timeline",))
    observed = {
        "t-1:0": Observed("other", None, (Card("escalation", None), Card("reply", "other")), ("escalation_risk",)),
        "t-1:1": Observed("unclear", None, (disclosure, Card("compliance_alert", None)), ()),
    }
    report = score([_conv()], observed)
    assert report.intent.value == 0.0
    assert report.false_compliance_flags == 1  # the reminder is not a flag, the other card is
    assert report.breaches_flagged.value == 0.0  # turn 2 produced nothing
    table = {k: (p.value, r.value) for k, p, r in report.alert_table()}
    assert table["escalation_risk"] == (0.0, None) and table["high_risk_intent"] == (None, 0.0)
    assert report.cards_per_customer_turn == [2]
    assert len(report.failures) == 7


def test_an_update_replaces_the_card_it_supersedes():
    cards = [{"suggestion_id": "a"}, {"suggestion_id": "b"}, {"suggestion_id": "c", "supersedes": "a"}]
    assert [c["suggestion_id"] for c in on_screen(cards)] == ["b", "c"]


@pytest.fixture(scope="module")
def core():
    from models.build import build, default_cache_dir
    from udfs.settings import load_settings
    from udfs.stages import CoachingCore

    build(default_cache_dir(), report=False)
    return CoachingCore.load(load_settings({}))


SUBSET = ("eval-chat-02", "eval-chat-15", "eval-voice-03", "eval-email-10")  # scam, PII, recording, fee


def test_a_subset_of_the_evaluation_set_through_the_core(core):
    conversations = [c for c in load_conversations(DEFAULT_DIR) if c.conversation_id in SUBSET]
    observed, _ = run_conversations(core, conversations)
    report = score(conversations, observed)
    assert max(report.cards_per_customer_turn) <= 3
    assert report.breaches_flagged.value == 1.0, report.failures
    raised = {kind for kind, _, recall in report.alert_table() if recall.hits}
    assert {"app_scam", "customer_volunteered_pii", "notice_contradiction"} <= raised
    assert report.expectations.value >= 0.85, json.dumps(report.failures, indent=1)
