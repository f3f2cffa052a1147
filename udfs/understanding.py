"""Reading a customer turn in the context of its conversation: the intent coaching acts on, and the topic.

A single utterance rarely says what a turn is about: "its 50-338172" answers the agent's question
about a refund, "do i need to cancel my card?" is still about the double charge. So the intent the
coaching acts on is the model's intent read against the conversation's topic (kept in state):

1. a situation rule that names an intent (a "safe account" scam, a request for a manager) wins;
2. a confident high-risk intent counts even against the topic (missing a legal threat costs more
   than a wrong card), unless it is a short answer the model is not sure of;
3. with no topic yet, a confident model intent is taken and becomes the topic; below the floor the
   turn is `unclear` (no library card rather than a confident wrong one);
4. with a topic, a confident closing is a closing unless it asks something ("will I get it back?");
   a different intent changes the topic only when the model is sure and the turn is more than a
   short answer; anything else keeps the topic.

Every reading carries a one-line reason, which the cards and the audit show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNCLEAR = "unclear"
NEUTRAL_INTENTS = frozenset({"greeting", "closing", "other"})
# A topic change needs more than the floor: a wrong switch sends every later card the wrong way.
TOPIC_CHANGE_CONFIDENCE = 0.6
# Answers to "can you give me the order number?" are short; a new request takes more words.
SHORT_ANSWER_WORDS = 12
SURE_HIGH_RISK = 0.8
_QUESTION_START = re.compile(
    r"^(?:\W*(?:ok(?:ay)?|right|thanks|thank you|sure|great|perfect|and|so|now|also)\b[\s,.!]*)*"
    r"(?:can|could|would|will|do|does|did|is|are|was|have|has|what|when|where|which|who|whose|how|why|may)\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Voice transcripts run sentences together: these ask something wherever they stand.
_QUESTION_ANYWHERE = re.compile(
    r"\b(?:would you like|do you (?:want|have|know|need)|can you (?:confirm|tell|give|read|spell)|could you"
    r"|what(?:'s| is| was) (?:the|your)|which (?:one|account|card|address|day|date)|is that (?:right|correct)"
    r"|are you (?:happy|ok|okay|able)|have you (?:got|tried|had))\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a turn means for the coaching: intent (a label or `unclear`), its confidence and the topic."""

    intent: str
    confidence: float
    topic: str | None
    reason: str

    @property
    def clear(self) -> bool:
        """False when the turn could not be read (`unclear`)."""
        return self.intent != UNCLEAR

    def as_dict(self) -> dict[str, object]:
        """The `reading` object of the turn's audit record."""
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "topic": self.topic,
            "reason": self.reason,
        }


def asks_question(text: str) -> bool:
    """Whether an agent turn asks the customer something (voice transcripts have no "?")."""
    if "?" in text or _QUESTION_ANYWHERE.search(text):
        return True
    return any(_QUESTION_START.match(s) for s in _SENTENCE_END.split(text.strip()) if s)


def read_turn(
    intent: str,
    confidence: float,
    *,
    text: str,
    topic: str | None,
    agent_asked: bool,
    floor: float,
    high_risk: frozenset[str],
    situation_intent: str | None = None,
    situation: str | None = None,
) -> Reading:
    """The reading of one customer turn (pure); `topic` is the conversation's topic before it."""
    confident = confidence >= floor
    if situation_intent is not None:
        new_topic = topic if situation_intent in NEUTRAL_INTENTS else situation_intent
        return Reading(situation_intent, 1.0, new_topic, f"situation {situation}")
    short = len(text.split()) <= SHORT_ANSWER_WORDS
    # A few words answering the agent ("yes, £30 a month I could manage") are weak evidence of a new risk.
    weak = topic is not None and short and confidence < SURE_HIGH_RISK
    if confident and intent in high_risk and not weak:
        return Reading(intent, confidence, intent, f"intent {intent} {confidence:.2f} (high risk)")
    if topic is None:
        if not confident:
            return Reading(UNCLEAR, confidence, None, f"intent {intent} {confidence:.2f} below the floor {floor:.2f}")
        new_topic = None if intent in NEUTRAL_INTENTS else intent
        return Reading(intent, confidence, new_topic, f"intent {intent} {confidence:.2f}")
    if confident and intent == "closing" and not asks_question(text):
        return Reading(intent, confidence, topic, f"intent closing {confidence:.2f}")
    if intent == topic and confident:
        return Reading(intent, confidence, topic, f"intent {intent} {confidence:.2f}")
    changes = intent not in NEUTRAL_INTENTS and not (short and agent_asked) and not (weak and intent in high_risk)
    if confidence >= TOPIC_CHANGE_CONFIDENCE and changes:
        return Reading(intent, confidence, intent, f"topic changed to {intent} ({confidence:.2f})")
    why = "answer to the agent's question" if agent_asked else "follow-up"
    return Reading(topic, max(confidence, floor), topic, f"{why} keeps the topic {topic}")
