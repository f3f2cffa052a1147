import base64
import json
import random

import pytest

from tests.fixtures.input_records import KAFKA_MS, TURN
from udfs.validation import Rejected, Valid, decode_and_validate, validate

MAX = 64 * 1024


def _run(value: object, topic: str = "conversation.events", key: bytes | None = b"conv-1") -> Valid | Rejected:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return decode_and_validate(raw, topic, 1, 42, KAFKA_MS, MAX, key)


def test_valid_turn() -> None:
    result = _run(TURN)
    assert isinstance(result, Valid)
    assert result.record == TURN
    assert result.schema == "conversation_event"


@pytest.mark.parametrize(
    ("value", "error_type", "fragment"),
    [
        (b"\xff\xfe{}", "decode", "not UTF-8"),
        (b'{"event_id": ', "json", "not JSON"),
        (b"[1, 2]", "json", "JSON array, not an object"),
        (b'{"seq": NaN}', "json", "NaN"),
        (b"", "json", "not JSON"),
        (b"x" * (MAX + 1), "oversize", f"limit is {MAX}"),
        ({k: v for k, v in TURN.items() if k != "text"}, "missing_field", "missing required field 'text'"),
        ({**TURN, "channel": "fax"}, "enum", "$.channel: 'fax' is not one of"),
        ({**TURN, "speaker": "bot"}, "enum", "$.speaker"),
        ({**TURN, "schema_version": 2}, "enum", "schema_version 2 is unknown: this job reads conversation_event"),
        ({**TURN, "schema_version": "1"}, "schema", "$.schema_version: expected type"),
        ({**TURN, "seq": "three"}, "schema", "$.seq: expected type integer, got string"),
        ({**TURN, "seq": -1}, "schema", "$.seq: minimum 0"),
        ({**TURN, "ts": "yesterday"}, "schema", "$.ts: does not match pattern"),
        ({**TURN, "ts": "2026-11-25T08:00:00"}, "schema", "$.ts: does not match pattern"),
        ({**TURN, "ts": 1_795_593_600}, "schema", "$.ts: minimum 100000000000 violated"),
        ({**TURN, "text": "y" * 8001}, "schema", "$.text: maxLength 8000 violated (length 8001)"),
        ({**TURN, "text": None}, "schema", "$.text: expected type string, got null"),
        ({**TURN, "metadata": {"a": 1}}, "schema", "$.metadata.a: expected type string"),
    ],
)
def test_rejections_are_precise(value: object, error_type: str, fragment: str) -> None:
    result = _run(value)
    assert isinstance(result, Rejected)
    record = result.dlq_record
    assert record["error_type"] == error_type
    assert fragment in record["error"]
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    assert base64.b64decode(record["raw_base64"]) == raw
    assert base64.b64decode(record["key_base64"]) == b"conv-1"
    assert record["source"] == {
        "topic": "conversation.events",
        "partition": 1,
        "offset": 42,
        "timestamp_ms": KAFKA_MS,
    }
    assert validate("dlq_record", record) is None


def test_errors_never_echo_free_text_or_pii() -> None:
    secret = "my card is 4111 1111 1111 1111"
    cases = (
        {**TURN, "text": secret * 300},
        {**TURN, "channel": secret},
        {**TURN, "agent_id": secret},
        {**TURN, "channel": 4111111111111111},
        {**TURN, "seq": -4111111111111111},
        {**TURN, "seq": -4111111111111111, "channel": secret, "ts": 4111111111111111},
    )
    for value in cases:
        error = _run(value).dlq_record["error"]  # type: ignore[union-attr]
        assert "4111" not in error


def test_unknown_topic_and_null_key() -> None:
    result = _run(TURN, topic="nope", key=None)
    assert isinstance(result, Rejected)
    assert result.dlq_record["error_type"] == "unknown_topic"
    assert result.dlq_record["key_base64"] is None


@pytest.mark.parametrize(
    ("topic", "record"),
    [
        ("customer.context", {"customer_id": "c1", "updated_at": "2026-11-25T08:00:00Z", "schema_version": 1}),
        (
            "agent.state",
            {"agent_id": "a1", "updated_at": "2026-11-25T08:00:00Z", "status": "available", "schema_version": 1},
        ),
        (
            "agent.feedback",
            {
                "event_id": "fb-1",
                "conversation_id": "conv-1",
                "suggestion_id": "a" * 64,
                "agent_id": "a1",
                "action": "edited",
                "edited_text": "[CARD_LAST4:1111] noted",
                "ts": "2026-11-25T08:00:00.000Z",
                "schema_version": 1,
            },
        ),
    ],
)
def test_other_input_topics(topic: str, record: dict) -> None:
    assert isinstance(_run(record, topic=topic), Valid)
    assert isinstance(_run({**record, "schema_version": "1"}, topic=topic), Rejected)


def test_never_raises_on_random_bytes() -> None:
    rng = random.Random(3)
    seeds = [json.dumps(TURN).encode(), b'{"a": [1, {"b": null}]}', b"\x00\x01"]
    for _ in range(2000):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        result = decode_and_validate(bytes(raw), "conversation.events", 0, 0, 0, MAX)
        assert isinstance(result, Valid | Rejected)


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    result = decode_and_validate(raw, "conversation.events", 0, 0, 0, 1 << 20)
    assert isinstance(result, Rejected)
    assert result.dlq_record["error_type"] == "json"
