import json

from udfs.conversation import MAX_SENTIMENTS, MAX_TURN_CHARS, MAX_TURNS, ConversationState, update_state
from udfs.records import Policy
from udfs.scores import FastScores
from udfs.understanding import UNCLEAR, Reading

POLICY = Policy.load_default(1)


def turn(seq: int, speaker: str, text: str) -> dict:
    return {
        "event_id": f"c1-{seq:03d}",
        "conversation_id": "c1",
        "seq": seq,
        "ts": f"2026-11-25T08:{seq // 60:02d}:{seq % 60:02d}.000Z",
        "channel": "chat",
        "speaker": speaker,
        "text": text,
        "customer_id": "cust-1",
        "agent_id": "agent-1",
        "schema_version": 1,
    }


def scores(intent: str = "refund_request", confidence: float = 0.9, sentiment: float = 0.0) -> FastScores:
    return FastScores(intent, confidence, sentiment, 0.1, 0.0)


def read(intent: str, topic: str | None) -> Reading:
    return Reading(intent, 0.9, topic, "test")


def test_first_turn_starts_state() -> None:
    reading = read("refund_request", "refund_request")
    state = update_state(None, turn(0, "customer", "I want a refund"), scores(), POLICY, reading)
    assert state.conversation_id == "c1"
    assert state.intents_seen == ("refund_request",)
    assert state.topic == "refund_request"
    assert state.customer_turns == 1 and state.turns == 1
    assert state.policy_version == POLICY.version


def test_unclear_turn_is_not_recorded() -> None:
    state = update_state(None, turn(0, "customer", "hmm"), scores("complaint", 0.1), POLICY, read(UNCLEAR, None))
    assert state.intents_seen == ()
    assert state.recent_turns[0]["intent"] is None


def test_the_reading_sets_the_topic_and_intents_seen() -> None:
    reading = read("refund_request", "refund_request")
    state = update_state(None, turn(0, "customer", "refund please"), scores(), POLICY, reading)
    state = update_state(
        state, turn(1, "customer", "thanks bye"), scores("closing"), POLICY, read("closing", "refund_request")
    )
    assert state.topic == "refund_request"
    assert state.intents_seen == ("refund_request", "closing")


def test_an_agent_question_is_remembered_for_the_next_reading() -> None:
    state = update_state(None, turn(0, "agent", "what's the order number"), scores(), POLICY)
    assert state.agent_asked
    assert not update_state(state, turn(1, "agent", "Thanks, found it."), scores(), POLICY).agent_asked


def test_cards_are_remembered_per_topic() -> None:
    state = update_state(
        None, turn(0, "customer", "refund"), scores(), POLICY, read("refund_request", "refund_request")
    )
    shown = state.with_shown(["t1"])
    assert shown.was_shown("t1") and not state.was_shown("t1")
    moved = update_state(
        shown, turn(1, "customer", "bill"), scores(), POLICY, read("billing_dispute", "billing_dispute")
    )
    assert not moved.was_shown("t1")


def test_state_of_an_older_version_still_loads() -> None:
    raw = update_state(None, turn(0, "customer", "refund"), scores(), POLICY).to_dict()
    raw["current_intent"] = "refund_request"  # a field an earlier version kept
    assert ConversationState.from_dict(raw).conversation_id == "c1"


def test_agent_disclosure_is_checked_off_and_pending_list_shrinks() -> None:
    reading = read("refund_request", "refund_request")
    state = update_state(None, turn(0, "customer", "refund please"), scores(), POLICY, reading)
    assert state.pending_disclosures(POLICY) == [("refund_request", "refund_timeline")]
    said = "Done. Refunds usually take 5 to 7 business days to appear on your statement."
    state = update_state(state, turn(1, "agent", said), scores(), POLICY)
    assert "refund_timeline" in state.disclosures_said
    assert state.pending_disclosures(POLICY) == []


def test_forbidden_phrases_are_counted() -> None:
    state = update_state(None, turn(0, "agent", "I guarantee it, I promise"), scores(), POLICY)
    assert state.forbidden_phrase_hits == 2


def test_redelivered_turn_is_ignored() -> None:
    first = update_state(None, turn(0, "customer", "refund"), scores(), POLICY)
    assert update_state(first, turn(0, "customer", "refund"), scores(), POLICY) is first


def test_input_state_is_not_modified() -> None:
    first = update_state(None, turn(0, "customer", "refund"), scores(), POLICY)
    snapshot = first.to_dict()
    update_state(first, turn(1, "customer", "more"), scores(sentiment=-0.9), POLICY)
    assert first.to_dict() == snapshot


def test_state_is_bounded_and_json_round_trips() -> None:
    state = None
    for seq in range(500):
        speaker = "customer" if seq % 2 == 0 else "agent"
        state = update_state(state, turn(seq, speaker, "x" * 5000), scores(sentiment=-0.5), POLICY)
    assert state is not None
    assert len(state.recent_turns) == MAX_TURNS
    assert all(len(t["text"]) == MAX_TURN_CHARS for t in state.recent_turns)
    assert len(state.sentiments) == MAX_SENTIMENTS
    assert state.turns == 500 and state.last_seq == 499
    encoded = json.dumps(state.to_dict())
    assert len(encoded) < 4096
    assert ConversationState.from_dict(json.loads(encoded)) == state


def test_with_raised_is_bounded_and_deduplicated() -> None:
    state = ConversationState.start(turn(0, "customer", ""))
    state = state.with_raised([f"k{i}" for i in range(100)] + ["k99"])
    assert len(state.raised) == 64 and state.raised[-1] == "k99"
    assert state.with_raised(["k99"]) is state
