import json

import pytest

from udfs import topics
from udfs.schema_files import SCHEMA_DIR, SCHEMA_NAMES
from udfs.topics import AUDIT, DLQ, INPUT_TOPICS, OUTPUT_TOPICS, SUGGESTIONS, TOPICS, Topic, TopicError


def test_registry_is_built_from_every_schema_file() -> None:
    assert [t.schema for t in TOPICS] == list(SCHEMA_NAMES)
    for t in TOPICS:
        schema = json.loads((SCHEMA_DIR / f"{t.schema}.v1.json").read_text())
        assert (t.name, t.key, t.role, t.transactional) == (
            schema["x-kafka-topic"],
            schema["x-kafka-key"],
            schema["x-kafka-role"],
            schema["x-kafka-transactional"],
        )


def test_the_contract_topics() -> None:
    assert topics.names(INPUT_TOPICS) == (
        "conversation.events",
        "customer.context",
        "agent.state",
        "coaching.policies",
        "agent.feedback",
    )
    assert topics.names(OUTPUT_TOPICS) == ("coaching.suggestions", "coaching.alerts", "coaching.audit", "coaching.dlq")
    assert AUDIT == Topic("coaching.audit", "audit_record", "conversation_id", "output", transactional=True)
    assert DLQ.key is None  # the DLQ keeps the rejected record's own key


def test_lookups() -> None:
    assert topics.topic_named("agent.state").key == "agent_id"
    assert topics.topic_of_schema("policy").name == "coaching.policies"
    with pytest.raises(TopicError, match="no topic 'nope'"):
        topics.topic_named("nope")
    with pytest.raises(TopicError, match="no topic for schema 'nope'"):
        topics.topic_of_schema("nope")


def test_exactly_once_follows_the_topic_and_the_delivery_setting() -> None:
    assert AUDIT.exactly_once("at-least-once") and DLQ.exactly_once("at-least-once")
    assert not SUGGESTIONS.exactly_once("at-least-once")
    assert SUGGESTIONS.exactly_once("exactly-once")
    assert not any(t.exactly_once("exactly-once") for t in INPUT_TOPICS)


def test_registry_rejects_bad_x_kafka_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    good = json.loads((SCHEMA_DIR / "feedback.v1.json").read_text())
    cases = [
        ({"x-kafka-topic": ""}, "has no x-kafka-topic"),
        ({"x-kafka-key": "no_such_field"}, "is not a field"),
        ({"x-kafka-role": "both"}, "x-kafka-role 'both' is not one of input, output"),
        ({"x-kafka-transactional": "yes"}, "must be true or false"),
    ]
    for change, message in cases:
        monkeypatch.setattr(topics, "load_schema", lambda _name, change=change: {**good, **change})
        with pytest.raises(TopicError, match=message):
            topics._topic("feedback")
