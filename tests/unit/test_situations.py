"""Situational rules, policy phrase matching and the three-card selection."""

import pytest

from udfs.cards import MAX_CARDS, select_cards
from udfs.phrases import compile_phrases, phrases_in, spoken
from udfs.records import Policy, Suggestion
from udfs.situations import contradicted_notices, customer_situations, volunteered

PHRASES = ["guarantee", "i promise", "100% sure", "definitely will"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("I guaranteed it would arrive", ["guarantee"]),
        ("we are guaranteeing delivery", ["guarantee"]),
        ("i promised you a call", ["i promise"]),
        ("i'm a hundred percent sure", ["100% sure"]),
        ("I am 100 per cent sure", ["100% sure"]),
        ("I can't guarantee the price for the full term", []),
        ("we will never guarantee that", []),
        ("I'm definitely willing to look", []),
        ("I promise and I guarantee it", ["guarantee", "i promise"]),
    ],
)
def test_policy_phrases_match_inflections_spoken_numbers_and_skip_negations(text, found):
    assert phrases_in(compile_phrases(PHRASES), PHRASES, text) == found


def test_spoken_numbers():
    import re

    assert re.fullmatch(spoken(100), "a hundred") and re.fullmatch(spoken(100), "one hundred")
    assert re.fullmatch(spoken(42), "forty two") and re.fullmatch(spoken(105), "one hundred and five")


def test_disclosures_count_spoken_numbers():
    policy = Policy.load_default(2)
    window = policy.all_disclosures()["return_window"]
    assert window.said_in("items can be returned within thirty days of delivery")
    assert not window.said_in("items can be returned any time")


def test_customer_situations():
    scam = customer_situations("they told me to move my savings into a safe account")
    assert [s.situation_id for s in scam] == ["app_scam"] and scam[0].intent == "fraud_report"
    assert scam[0].card_kind == "fraud_playbook" and scam[0].alert.alert_type == "app_scam"
    manager = customer_situations("I want to speak to your manager right now")
    assert [s.intent for s in manager] == ["speak_to_human"]
    assert customer_situations("my dad passed away last month")[0].intent == "vulnerable_customer"
    assert customer_situations("I'll take you to small claims court")[0].intent == "legal_threat"
    assert customer_situations("can you tell me when my parcel arrives") == []


def test_volunteered_pii_is_what_the_agent_did_not_ask_for():
    assert volunteered(["CARD", "CVV", "EMAIL"], None) == ["CARD", "CVV"]
    assert volunteered(["CVV"], "CVV") == []
    assert volunteered(["SECRET"], "PASSWORD+MEMORABLE_WORD") == []
    assert volunteered(["DOB", "ADDRESS"], None) == []


def test_notice_contradictions_and_their_exceptions():
    assert [r.notice for r in contradicted_notices("don't worry this call isn't recorded")] == ["call_recording"]
    assert [r.notice for r in contradicted_notices("No cancellation fee applies to you.")] == ["cancellation_fee"]
    assert contradicted_notices("There is no cancellation fee in these circumstances.") == []
    assert contradicted_notices("you're 20 months into an 18 month contract so there's no cancellation fee") == []


def _card(kind, confidence=0.9, *, rule=None, template=None, status="shown"):
    return Suggestion(
        suggestion_id=f"{kind}-{rule or template}",
        conversation_id="c",
        event_id="e",
        agent_id="a",
        customer_id="u",
        channel="chat",
        kind=kind,
        status=status,
        text="t",
        confidence=confidence,
        intent=None,
        template_id=template,
        human_review=False,
        degraded=False,
        rules_fired=(),
        model_versions={},
        policy_id=None,
        policy_version=None,
        rule_id=rule,
    )


def test_at_most_three_cards_urgent_first():
    cards = [
        _card("reply", template="r1"),
        _card("knowledge", template="k1", confidence=0.95),
        _card("next_action", template="n1"),
        _card("escalation", rule="high_risk:fraud_report"),
        _card("fraud_playbook", rule="app_scam"),
        _card("reply", template="r2", status="blocked"),
    ]
    final = select_cards(cards)
    shown = [c.suggestion_id for c in final if c.status == "shown"]
    assert shown == ["fraud_playbook-app_scam", "escalation-high_risk:fraud_report", "reply-r1"]
    assert len(shown) == MAX_CARDS
    held = {c.suggestion_id: c.rules_fired[-1] for c in final if c.status == "superseded"}
    assert held == {"knowledge-k1": "rank.max_cards", "next_action-n1": "rank.max_cards"}
    assert len(final) == len(cards)  # every candidate stays for the audit


def test_an_agent_asking_for_a_secret():
    from udfs.situations import asks_for_secret

    assert asks_for_secret("to cancel it I'll need the long card number and your PIN please")
    assert asks_for_secret("what is the security code on the back")
    assert not asks_for_secret("we will never ask for your PIN")
    assert not asks_for_secret("can you confirm your postcode")
