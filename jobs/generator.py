"""Seeded generator of realistic contact-center traffic for the run command, the tests and the benchmark.

`generate(config)` yields feed items `{topic, key, value}` (a JSON object) or `{topic, key, value_raw}` (a
string that is not a valid record), in the order a feeder should produce them: policy v1, agent states and
customer contexts first, then the turns of many concurrent conversations interleaved, policy v2 half-way
through the turns, and malformed records sprinkled in. The same config always yields the same items (ids and
timestamps included).

Traffic covers chat, voice (spoken digits, fillers) and e-mail; all 20 intents; PII in many forms (the
`CANARIES` values, which tests grep for in every output); angry and vulnerable customers; agents who
break policy (forbidden phrases, missing disclosures, card numbers read back, the v2-only phrase
"completely free"); and a customer without any context record (`context_missing`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from udfs.records import load_policy_file
from udfs.scores import INTENT_LABELS
from udfs.topics import AGENT_STATE, CONVERSATION_EVENTS, CUSTOMER_CONTEXT, POLICIES

BASE_TIME = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
CHANNELS = (("chat", 0.5), ("voice", 0.3), ("email", 0.2))
INTENTS = INTENT_LABELS
# Every conversation opens and closes; these are what it is about.
TOPIC_INTENTS = tuple(i for i in INTENTS if i not in ("greeting", "closing"))
NO_CONTEXT_CUSTOMER = "cust-nocontext"

# PII the generator embeds. Tests assert none of these (nor their digits) survives masking.
CANARIES = {
    "card_visa": "4111 1111 1111 1111",
    "card_mc_dashed": "5555-5555-5555-4444",
    "card_plain": "4012888888881881",
    "card_amex": "3782 822463 10005",
    "card_spoken": "four five three two zero one five one one two eight three zero three six six",
    "cvv": "737",
    "cvv_spoken": "four two one",
    "ssn": "219-09-9999",
    "ssn_spaced": "078 05 1120",
    "iban_grouped": "GB82 WEST 1234 5698 7654 32",
    "iban_plain": "DE89370400440532013000",
    "email": "jane.canary@example.com",
    "email_plus": "raj.canary+bills@example.org",
    "email_spoken": "mo dot canary at example dot com",
    "phone_intl": "+44 7700 900123",
    "phone_us": "(555) 010-0199",
    "phone_uk": "07700 900456",
    "phone_spoken": "oh seven seven zero zero nine zero zero seven eight nine",
    "dob_numeric": "14/03/1985",
    "dob_text": "March 3, 1972",
    "address": "221B Baker Street",
    "address_lower": "42 canary wharf road",
}
# Numbers that look like PII but are not (they fail Luhn or lack context): masking must keep them.
KEEP = {
    "order_number": "1234 5678 9012 3456",
    "price": "$49.99",
    "order_ref": "7823441299810035",
}

PII_SENTENCES = {
    "chat": (
        f"My card is {CANARIES['card_visa']} and the security code is {CANARIES['cvv']}.",
        f"The card number is {CANARIES['card_mc_dashed']}.",
        f"You can email me at {CANARIES['email']}.",
        f"Call me back on {CANARIES['phone_intl']} please.",
        f"My SSN is {CANARIES['ssn']} if you need it.",
        f"Pay it into {CANARIES['iban_grouped']}.",
        f"My date of birth is {CANARIES['dob_numeric']}.",
        f"I live at {CANARIES['address']}, London.",
        f"the order number is {KEEP['order_number']} and it cost {KEEP['price']}.",
        f"send it to {CANARIES['address_lower']} please",
    ),
    "voice": (
        f"yeah so the card is {CANARIES['card_spoken']} and the cvv is {CANARIES['cvv_spoken']}",
        f"my number is {CANARIES['phone_spoken']}",
        f"my email is {CANARIES['email_spoken']}",
        f"um my social security number is {CANARIES['ssn_spaced']}",
        f"I was born on {CANARIES['dob_text']}",
        f"ring me on {CANARIES['phone_uk']}",
    ),
    "email": (
        f"For reference, my card number is {CANARIES['card_plain']} and my account IBAN is {CANARIES['iban_plain']}.",
        f"You can reach me at {CANARIES['email_plus']} or on {CANARIES['phone_us']}.",
        f"My card {CANARIES['card_amex']} was charged twice.",
        f"For verification: date of birth {CANARIES['dob_numeric']}, address {CANARIES['address']}.",
        f"Your reference for my order is {KEEP['order_ref']}.",
    ),
}

# Phrase tables are data (jobs/generator_phrases.json); order matters, a seeded RNG draws from them.
_PHRASES: dict[str, Any] = json.loads((Path(__file__).with_name("generator_phrases.json")).read_text(encoding="utf-8"))
OPENERS: dict[str, tuple[str, ...]] = {intent: tuple(lines) for intent, lines in _PHRASES["openers"].items()}
ANGRY: tuple[str, ...] = tuple(_PHRASES["angry"])
VULNERABLE: tuple[str, ...] = tuple(_PHRASES["vulnerable"])
CALM: tuple[str, ...] = tuple(_PHRASES["calm"])
CUSTOMER_CLOSING: tuple[str, ...] = tuple(_PHRASES["customer_closing"])
AGENT_GREETING: dict[str, str] = _PHRASES["agent_greeting"]
AGENT_ACK: tuple[str, ...] = tuple(_PHRASES["agent_ack"])
AGENT_BREACHES: tuple[str, ...] = tuple(_PHRASES["agent_breaches"])
AGENT_CLOSING: str = _PHRASES["agent_closing"]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate; validated at construction with one-line errors."""

    seed: int = 7
    conversations: int = 50
    malformed_every: int = 40  # one malformed record after every N turns; 0 disables
    concurrency: int = 8  # conversations in flight at once

    def __post_init__(self) -> None:
        if self.conversations < 0:
            raise ValueError(f"conversations={self.conversations} is negative; set it to 0 or more")
        if self.malformed_every < 0:
            raise ValueError(f"malformed_every={self.malformed_every} is negative; set it to 0 (off) or more")
        if self.concurrency < 1:
            raise ValueError(f"concurrency={self.concurrency} must be at least 1")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _item(topic: str, key: str | None, value: dict[str, Any]) -> dict[str, Any]:
    return {"topic": topic, "key": key, "value": value}


@dataclass
class _Conversation:
    conversation_id: str
    channel: str
    customer_id: str
    agent_id: str
    turns: list[tuple[str, str]]  # (speaker, text)
    next_seq: int = 0


def _script(
    rng: random.Random, intent: str, channel: str, persona: str, *, agent_breaks: bool, required: dict[str, Any]
) -> list[tuple[str, str]]:
    """The turns of one conversation: (speaker, text); compliant agents make every v2 disclosure."""
    disclosures = " ".join(d["text"] for d in required.get(intent, ()))
    opener = rng.choice(OPENERS[intent])
    if rng.random() < 0.45:
        opener += " " + rng.choice(PII_SENTENCES[channel])
    if channel == "voice":
        opener = "um, " + opener[0].lower() + opener[1:].replace(",", "")
    if channel == "email":
        body = f"Hello, {opener} Kind regards"
        reply = f"Dear customer, thank you for your message. {disclosures}".strip()
        if agent_breaks:
            reply = f"Dear customer, {rng.choice(AGENT_BREACHES)}"
        return [("customer", body), ("agent", reply), ("customer", rng.choice(CUSTOMER_CLOSING))]
    turns = [("customer", "Hi there." if channel == "chat" else "hello, hi"), ("agent", AGENT_GREETING[channel])]
    turns.append(("customer", opener))
    if agent_breaks:
        turns.append(("agent", rng.choice(AGENT_BREACHES)))
    else:
        turns.append(("agent", f"{rng.choice(AGENT_ACK)} {disclosures}".strip()))
    follow_ups = {"angry": ANGRY, "vulnerable": VULNERABLE}.get(persona, CALM)
    for _ in range(2 if persona == "angry" else 1):
        text = rng.choice(follow_ups)
        if rng.random() < 0.25:
            text += " " + rng.choice(PII_SENTENCES[channel])
        turns.append(("customer", text))
        if agent_breaks and rng.random() < 0.4:
            turns.append(("agent", f"So that's the card ending {CANARIES['card_visa']}, right?"))
        else:
            turns.append(("agent", rng.choice(AGENT_ACK)))
    turns += [("customer", rng.choice(CUSTOMER_CLOSING)), ("agent", AGENT_CLOSING)]
    return turns


def _malformed(kind: str, conversation: _Conversation, n: int, ts: str, policy: dict[str, Any]) -> dict[str, Any]:
    """One invalid record of the given kind, keyed like the valid traffic of its topic."""
    key = conversation.conversation_id
    good = {
        "event_id": f"bad-{n:06d}",
        "conversation_id": key,
        "seq": 9999,
        "ts": ts,
        "channel": conversation.channel,
        "speaker": "customer",
        "text": "hello?",
        "customer_id": conversation.customer_id,
        "agent_id": conversation.agent_id,
        "schema_version": 1,
    }
    if kind == "bad_json":
        return {"topic": CONVERSATION_EVENTS.name, "key": key, "value_raw": '{"event_id": "bad", "conversation_id": '}
    if kind == "not_object":
        return {"topic": CONVERSATION_EVENTS.name, "key": key, "value_raw": '["not", "an", "object"]'}
    if kind == "missing_field":
        del good["text"]
    elif kind == "bad_enum":
        good["channel"] = "fax"
    elif kind == "wrong_type":
        good["seq"] = "three"
    elif kind == "oversize":
        good["text"] = "blah " * 14_000
    elif kind == "bad_policy":
        broken = {k: v for k, v in policy.items() if k != "thresholds"}
        return _item(POLICIES.name, policy["policy_id"], broken)
    elif kind == "bad_context":
        return _item(
            CUSTOMER_CONTEXT.name,
            conversation.customer_id,
            {"customer_id": conversation.customer_id, "updated_at": ts, "tier": "diamond", "schema_version": 1},
        )
    return _item(CONVERSATION_EVENTS.name, key, good)


MALFORMED_KINDS = (
    "bad_json",
    "not_object",
    "missing_field",
    "bad_enum",
    "wrong_type",
    "oversize",
    "bad_policy",
    "bad_context",
)


def _customers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    names = ("Jane Canary", "Raj Canary", "Mo Canary", "Ana Canary", "Li Canary", "Sam Canary")
    out = []
    for i in range(count):
        out.append(
            {
                "customer_id": f"cust-{i:04d}",
                "updated_at": _iso(BASE_TIME),
                "schema_version": 1,
                "name": names[i % len(names)],
                "email": CANARIES["email"] if i % 2 == 0 else CANARIES["email_plus"],
                "phone": CANARIES["phone_intl"],
                "address": f"{CANARIES['address']}, London",
                "tier": rng.choice(("standard", "silver", "gold", "platinum")),
                "language": "en",
                "vulnerable": i % 7 == 3,
                "open_cases": rng.randint(0, 3),
                "tenure_months": rng.randint(1, 120),
                "notes": "Prefers email. Called about billing before.",
            }
        )
    return out


def _agents(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "agent_id": f"agent-{i:03d}",
            "updated_at": _iso(BASE_TIME),
            "status": "available",
            "schema_version": 1,
            "team": rng.choice(("billing", "retention", "general")),
            "supervisor_id": f"sup-{i % 3}",
            "experience": rng.choice(("trainee", "junior", "senior", "lead")),
            "skills": sorted(rng.sample(TOPIC_INTENTS, 4)),
            "languages": ["en"],
        }
        for i in range(count)
    ]


def generate(config: GeneratorConfig) -> Iterator[dict[str, Any]]:
    """Yield the feed items of one seeded run (see the module docstring for their order)."""
    rng = random.Random(config.seed)
    policy_v1, policy_v2 = load_policy_file(1), load_policy_file(2)
    n_customers = max(3, config.conversations // 3)
    n_agents = max(2, config.conversations // 8)
    yield _item(POLICIES.name, policy_v1["policy_id"], policy_v1)
    for agent in _agents(rng, n_agents):
        yield _item(AGENT_STATE.name, agent["agent_id"], agent)
    for customer in _customers(rng, n_customers):
        yield _item(CUSTOMER_CONTEXT.name, customer["customer_id"], customer)

    conversations = []
    for i in range(config.conversations):
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        intent = TOPIC_INTENTS[i % len(TOPIC_INTENTS)] if i < len(TOPIC_INTENTS) else rng.choice(TOPIC_INTENTS)
        persona = "vulnerable" if intent == "vulnerable_customer" else rng.choices(("calm", "angry"), (0.75, 0.25))[0]
        customer_id = NO_CONTEXT_CUSTOMER if i % 11 == 5 else f"cust-{rng.randrange(n_customers):04d}"
        conversations.append(
            _Conversation(
                conversation_id=f"conv-{config.seed}-{i:05d}",
                channel=channel,
                customer_id=customer_id,
                agent_id=f"agent-{rng.randrange(n_agents):03d}",
                turns=_script(
                    rng,
                    intent,
                    channel,
                    persona,
                    agent_breaks=rng.random() < 0.3,
                    required=policy_v2["required_disclosures"],
                ),
            )
        )
    total_turns = sum(len(c.turns) for c in conversations)
    pending = list(reversed(conversations))
    active: list[_Conversation] = []
    moment = BASE_TIME + timedelta(seconds=1)
    emitted = malformed = 0
    policy_updated = False
    while pending or active:
        while pending and len(active) < config.concurrency:
            active.append(pending.pop())
        conversation = rng.choice(active)
        speaker, text = conversation.turns[conversation.next_seq]
        moment += timedelta(milliseconds=rng.randint(20, 400))
        event: dict[str, Any] = {
            "event_id": f"{conversation.conversation_id}-{conversation.next_seq:03d}",
            "conversation_id": conversation.conversation_id,
            "seq": conversation.next_seq,
            "ts": _iso(moment),
            "channel": conversation.channel,
            "speaker": speaker,
            "text": text,
            "customer_id": conversation.customer_id,
            "agent_id": conversation.agent_id,
            "schema_version": 1,
            "language": "en",
        }
        if conversation.channel == "voice" and conversation.next_seq == 0:
            event["metadata"] = {"caller_id": CANARIES["phone_uk"], "queue": "general"}
        yield _item(CONVERSATION_EVENTS.name, conversation.conversation_id, event)
        conversation.next_seq += 1
        emitted += 1
        if conversation.next_seq == len(conversation.turns):
            active.remove(conversation)
        if not policy_updated and emitted >= total_turns // 2:
            policy_updated = True
            yield _item(POLICIES.name, policy_v2["policy_id"], policy_v2)
        if config.malformed_every and emitted % config.malformed_every == 0 and active:
            kind = MALFORMED_KINDS[malformed % len(MALFORMED_KINDS)]
            yield _malformed(kind, rng.choice(active), malformed, _iso(moment), policy_v1)
            malformed += 1


def to_line(item: dict[str, Any]) -> str:
    """One feed line: compact JSON, non-ASCII kept as is."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)
