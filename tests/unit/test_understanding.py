"""Reading customer turns in context (udfs.understanding) and the agent-question cue it relies on."""

import pytest

from udfs.understanding import UNCLEAR, asks_question, read_turn

HIGH_RISK = frozenset({"legal_threat", "fraud_report", "vulnerable_customer"})


def read(intent, confidence, text="a few words here", *, topic=None, asked=False, situation=None):
    return read_turn(
        intent,
        confidence,
        text=text,
        topic=topic,
        agent_asked=asked,
        floor=0.5,
        high_risk=HIGH_RISK,
        situation_intent=situation,
        situation="rule" if situation else None,
    )


def test_no_topic_and_low_confidence_is_unclear():
    reading = read("refund_request", 0.3)
    assert reading.intent == UNCLEAR and not reading.clear and reading.topic is None
    assert "below the floor" in reading.reason


def test_a_confident_first_intent_becomes_the_topic_but_neutral_ones_do_not():
    assert read("refund_request", 0.9).topic == "refund_request"
    greeting = read("greeting", 0.9)
    assert greeting.intent == "greeting" and greeting.topic is None


def test_a_short_answer_to_the_agent_keeps_the_topic_even_when_the_model_is_sure():
    reading = read("card_lost_stolen", 0.99, "replacement please", topic="return_exchange", asked=True)
    assert (reading.intent, reading.topic) == ("return_exchange", "return_exchange")
    assert "answer to the agent's question" in reading.reason


def test_a_sure_longer_turn_changes_the_topic():
    text = "also while I have you I want to change the address on my account to the new flat"
    reading = read("update_details", 0.8, text, topic="refund_request")
    assert (reading.intent, reading.topic) == ("update_details", "update_details")
    assert reading.reason.startswith("topic changed")


def test_an_unsure_model_keeps_the_topic():
    assert read("other", 0.2, "it was on tuesday", topic="billing_dispute").intent == "billing_dispute"


def test_a_closing_that_asks_something_is_not_a_closing():
    assert read("closing", 0.9, "thanks, bye", topic="refund_request").intent == "closing"
    kept = read("closing", 0.9, "will I get it back?", topic="fraud_report")
    assert kept.intent == "fraud_report"


def test_high_risk_wins_over_the_topic_unless_a_short_answer_is_unsure():
    long = "if this is not sorted by friday I will take it further with my solicitor and the court"
    assert read("legal_threat", 0.7, long, topic="refund_request").intent == "legal_threat"
    assert read("legal_threat", 0.7, "yes the 14th", topic="refund_request").intent == "refund_request"
    assert read("legal_threat", 0.9, "yes the 14th", topic="refund_request").intent == "legal_threat"


def test_a_situation_names_the_intent():
    reading = read("other", 0.1, topic="account_access", situation="fraud_report")
    assert (reading.intent, reading.topic, reading.confidence) == ("fraud_report", "fraud_report", 1.0)
    assert reading.reason == "situation rule"


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Can you tell me the order number?", True),
        ("What's the booking reference? It starts with BK.", True),
        ("yes you're well within it would you like a refund or a replacement", True),
        ("Thanks, that's updated. You'll get a confirmation by email.", False),
        ("no problem a courier will swap it on friday", False),
    ],
)
def test_asks_question(text, asked):
    assert asks_question(text) is asked
