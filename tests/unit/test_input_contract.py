"""The input contract real producers can meet (issue 10, section 2): one test per rule of udfs/schemas/README.md."""

import base64
import json
import random
import struct

import pytest

from jobs.generator import GeneratorConfig, generate
from tests.fixtures.input_records import AGENT, CUSTOMER, FEEDBACK, KAFKA_MS, TURN
from udfs.input_contract import FUTURE_TOLERANCE_MS, MAX_UNKNOWN_NAMES, clean_text
from udfs.pii import mask_pii
from udfs.validation import Rejected, Valid, decode_and_validate, validate

MAX = 64 * 1024


def _run(value: object, topic: str = "conversation.events", kafka_ms: int = KAFKA_MS) -> Valid | Rejected:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return decode_and_validate(raw, topic, 0, 7, kafka_ms, MAX, b"k")


def _valid(value: object, topic: str = "conversation.events", kafka_ms: int = KAFKA_MS) -> Valid:
    result = _run(value, topic, kafka_ms)
    assert isinstance(result, Valid), result
    return result


def _rejected(value: object, topic: str = "conversation.events", kafka_ms: int = KAFKA_MS) -> dict:
    result = _run(value, topic, kafka_ms)
    assert isinstance(result, Rejected), result
    assert validate("dlq_record", result.dlq_record) is None
    return result.dlq_record


@pytest.mark.parametrize(
    ("ts", "normal"),
    [
        ("2026-11-25T08:00:00.123Z", "2026-11-25T08:00:00.123Z"),
        ("2026-11-25T08:00:00Z", "2026-11-25T08:00:00.000Z"),
        ("2026-11-25T08:00:00.1Z", "2026-11-25T08:00:00.100Z"),
        ("2026-11-25T08:00:00.123456Z", "2026-11-25T08:00:00.123Z"),
        ("2026-11-25T08:00:00.123456789Z", "2026-11-25T08:00:00.123Z"),
        ("2026-11-25T09:00:00.123+01:00", "2026-11-25T08:00:00.123Z"),
        ("2026-11-25T02:30:00-0530", "2026-11-25T08:00:00.000Z"),
        ("2026-11-26T00:00:00+16:00", "2026-11-25T08:00:00.000Z"),
        (1_795_593_600_123, "2026-11-25T08:00:00.123Z"),
        (1_795_593_600_123.0, "2026-11-25T08:00:00.123Z"),
    ],
)
def test_ts_is_iso_8601_or_epoch_millis_and_normalised_once(ts: object, normal: str) -> None:
    assert _valid({**TURN, "ts": ts}).record["ts"] == normal
    assert _valid({**FEEDBACK, "ts": ts}, "agent.feedback").record["ts"] == normal


@pytest.mark.parametrize(
    ("ts", "fragment"),
    [
        (1_795_593_600, "$.ts: minimum 100000000000 violated"),  # epoch seconds
        (1_795_593_600_123_000, "$.ts: maximum 253402300799999 violated"),  # epoch microseconds
        (1_795_593_600_123.5, "$.ts: expected type ['string', 'integer'], got number"),
        ("2026-11-25T08:00:00", "$.ts: does not match pattern"),  # no zone: ambiguous
        ("2026-11-25 08:00:00Z", "$.ts: does not match pattern"),
        (True, "$.ts: expected type"),
    ],
)
def test_ts_forms_that_name_no_moment_are_dead_lettered(ts: object, fragment: str) -> None:
    record = _rejected({**TURN, "ts": ts})
    assert record["error_type"] == "schema"
    assert fragment in record["error"]


def test_ts_far_in_the_future_is_replaced_by_the_kafka_timestamp() -> None:
    result = _valid({**TURN, "ts": "2099-01-01T00:00:00Z"})
    assert result.record["ts"] == "2026-11-25T08:00:01.000Z"
    assert len(result.notes) == 1 and "$.ts was" in result.notes[0] and "replaced" in result.notes[0]
    skewed = KAFKA_MS + FUTURE_TOLERANCE_MS
    assert _valid({**TURN, "ts": skewed}).record["ts"] == "2026-11-25T08:05:01.000Z"  # clock skew: believed
    assert _valid({**TURN, "ts": skewed + 1}).record["ts"] == "2026-11-25T08:00:01.000Z"
    # Without a Kafka timestamp (offline tools pass 0) there is nothing to compare with.
    assert _valid({**TURN, "ts": "2099-01-01T00:00:00Z"}, kafka_ms=0).record["ts"] == "2099-01-01T00:00:00.000Z"


def test_ts_that_matches_the_form_but_is_no_calendar_moment() -> None:
    for ts in ("2026-02-30T08:00:00Z", "2026-11-25T24:00:00Z", "9999-12-31T23:59:59-01:00"):
        result = _valid({**TURN, "ts": ts})
        assert result.record["ts"] == "2026-11-25T08:00:01.000Z"
        assert result.notes == ("$.ts is not a calendar date and time: replaced by the Kafka timestamp",)
        rejected = _rejected({**TURN, "ts": ts}, kafka_ms=0)
        assert rejected["error"] == "conversation_event.v1: $.ts: not a calendar date and time"


@pytest.mark.parametrize(
    ("topic", "record"),
    [
        ("conversation.events", TURN),
        ("customer.context", CUSTOMER),
        ("agent.state", AGENT),
        ("agent.feedback", FEEDBACK),
    ],
)
def test_unknown_fields_are_dropped_and_named(topic: str, record: dict) -> None:
    result = _valid({**record, "zeta": {"deep": [1]}, "crm_ref": None, "alpha": 1}, topic)
    assert result.record == _valid(record, topic).record
    assert result.unknown_fields == ("alpha", "crm_ref", "zeta")


def test_unknown_field_names_are_masked_and_capped() -> None:
    many = {f"f{n:03d}": n for n in range(50)}
    result = _valid({**TURN, **many, "card 4111 1111 1111 1111": 1})
    assert len(result.unknown_fields) == MAX_UNKNOWN_NAMES
    assert result.unknown_fields[0] == mask_pii("card 4111 1111 1111 1111").masked_text
    assert "4111" not in repr(result)
    assert _valid({**TURN, "x" * 500: 1}).unknown_fields == ("x" * 64,)


def test_policies_stay_strict_about_unknown_fields() -> None:
    from udfs.records import load_policy_file

    record = _rejected({**load_policy_file(1), "new_rule": []}, "coaching.policies")
    assert "unexpected field(s) 'new_rule'" in record["error"]


def test_unknown_schema_version_says_so() -> None:
    for version in (2, 0, 1.5):
        record = _rejected({**TURN, "schema_version": version, "seq": -1})
        assert record["error_type"] == "enum"
        assert record["error"] == (
            f"conversation_event.v1: schema_version {version} is unknown: this job reads conversation_event "
            "version 1 only"
        )
    assert isinstance(_run({**TURN, "schema_version": 1.0}), Valid)


def test_the_dlq_reason_lists_every_violation() -> None:
    bad = {k: v for k, v in TURN.items() if k not in ("text", "agent_id")}
    record = _rejected({**bad, "channel": "fax", "seq": -1, "language": "English"})
    assert record["error"].startswith("conversation_event.v1: 4 violations: ")
    for fragment in (
        "$: missing required fields 'text', 'agent_id'",
        "$.seq: minimum 0 violated",
        "$.channel: 'fax' is not one of",
        "$.language: does not match pattern",
    ):
        assert fragment in record["error"]
    assert record["error_type"] == "missing_field"


def test_a_long_violation_list_fits_the_dlq_error_field() -> None:
    metadata = {f"key_{n:02d}_" + "k" * 60: n for n in range(32)}
    first = _rejected({**TURN, "metadata": metadata})["error"]
    assert "32 violations" in first and first.endswith(" more")
    assert len(first) <= 2000
    assert _rejected({**TURN, "metadata": dict(reversed(metadata.items()))})["error"] == first  # sorted


def _confluent(schema_id: int, payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + payload


def test_confluent_wire_format_is_decoded() -> None:
    result = _valid(_confluent(42, json.dumps(TURN).encode()))
    assert result.record == TURN
    assert result.notes == ("Confluent wire format, schema id 42",)


@pytest.mark.parametrize(
    ("raw", "error_type", "fragment"),
    [
        (_confluent(7, b"\x02\x0cconv-1\x00"), "json", "Confluent wire format value (schema id 7): its payload is not"),
        (_confluent(7, b"\xff\xfe"), "decode", "Confluent wire format value (schema id 7): its payload is not UTF-8"),
        (_confluent(7, b"[1]"), "json", "its payload is a JSON array, not an object"),
        (b"\x00\x01", "decode", "Confluent wire format's magic byte 0 but has no schema id"),
    ],
)
def test_confluent_wire_format_that_cannot_be_read_names_the_format(raw: bytes, error_type: str, fragment: str) -> None:
    record = _rejected(raw)
    assert record["error_type"] == error_type
    assert fragment in record["error"]
    assert base64.b64decode(record["raw_base64"]) == raw


def test_customer_context_as_crms_send_it() -> None:
    crm = {
        "customer_id": "cust-1",
        "schema_version": 1,
        "consent": {"recording": True, "marketing": False, "sms": "opt_out", "email": "2026-11-01T10:00:00Z"},
        "email": None,
        "phone": None,
        "vulnerable": True,
        "Salesforce_Id__c": "0035g00000XyZ",
    }
    result = _valid(crm, "customer.context")
    assert result.record == {
        "customer_id": "cust-1",
        "schema_version": 1,
        "consent": {"recording": True, "marketing": False, "sms": "opt_out", "email": "2026-11-01T10:00:00Z"},
        "vulnerable": True,
        "updated_at": "2026-11-25T08:00:01.000Z",
    }
    assert result.unknown_fields == ("Salesforce_Id__c",)
    assert result.notes == ("$.updated_at absent: set to the Kafka timestamp",)
    assert _valid({**crm, "updated_at": None}, "customer.context").record["updated_at"] == "2026-11-25T08:00:01.000Z"
    assert _valid({**crm, "updated_at": 1_795_593_000_000}, "customer.context").notes == ()


def test_customer_context_keeps_what_the_coaching_reads_strict() -> None:
    strict = ({"vulnerable": "yes"}, {"tier": "diamond"}, {"customer_id": "cust 1"}, {"consent": {"x": 1}})
    for change in (*strict, {"consent": {"signed_by": "Jane Doe"}}, {"consent": {"by": "jo@example.com"}}):
        assert isinstance(_run({**CUSTOMER, **change}, "customer.context"), Rejected), change
    record = _rejected({"customer_id": "cust-1", "schema_version": 1}, "customer.context", kafka_ms=0)
    assert record["error_type"] == "missing_field"
    assert record["error"].endswith(": $: missing required field 'updated_at' (no Kafka timestamp to default it to)")
    record = _rejected({"customer_id": "cust-1", "schema_version": 1, "tier": "x"}, "customer.context", kafka_ms=0)
    assert "2 violations" in record["error"] and "$.tier" in record["error"]


def test_agent_state_as_workforce_systems_send_it() -> None:
    wfm = {
        "agent_id": "agent-1",
        "status": "available",
        "schema_version": 1,
        "supervisor_id": 4711,
        "skills": ["billing_dispute", "Billing", "billing_dispute", {"name": "Spanish", "level": 3}],
        "team": None,
    }
    result = _valid(wfm, "agent.state")
    assert result.record["supervisor_id"] == "4711"
    assert result.record["skills"] == wfm["skills"]
    assert "team" not in result.record
    assert result.record["updated_at"] == "2026-11-25T08:00:01.000Z"
    for change in ({"status": "away"}, {"supervisor_id": "sup 1"}, {"supervisor_id": -1}, {"supervisor_id": True}):
        assert isinstance(_run({**AGENT, **change}, "agent.state"), Rejected), change


@pytest.mark.parametrize("text", ["", " ", "\n\t"])
def test_empty_or_blank_text_is_a_turn(text: str) -> None:
    assert _valid({**TURN, "text": text}).record["text"] == text


def test_control_characters_become_spaces_and_lone_surrogates_u_fffd() -> None:
    dirty = "card 4111\x001111\x001111\x001111\x1b[31m bell\x07 del\x7f nel\x85 tab\tline\r\n" + "\ud800"
    result = _valid({**TURN, "text": dirty, "metadata": {"a\x00b": "x\x0cy"}})
    text = result.record["text"]
    assert text == "card 4111 1111 1111 1111 [31m bell  del  nel  tab\tline\r\n\ufffd"
    assert len(text) == len(dirty)
    assert result.record["metadata"] == {"a b": "x y"}
    assert result.notes == ("control characters replaced in $.text, $.metadata",)
    assert "4111" not in mask_pii(text).masked_text  # the NULs no longer split the card number
    text.encode("utf-8")  # a lone surrogate could never be written out
    assert isinstance(_run({**TURN, "agent_id": "agent\x001"}), Rejected)  # ids: the pattern still decides


def test_the_cheap_scan_never_misses_a_character_to_clean() -> None:
    unwanted = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0xD800, 0xDBFF, 0xDC00, 0xDFFF]]
    pool = [*unwanted, "a", "é", "£", "😀", "\\", '"', "\u2028"]
    rng = random.Random(10)
    for n in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 6)))
        if n < len(unwanted):
            text = unwanted[n]
        for ensure_ascii in (True, False):
            raw = json.dumps({**TURN, "text": text}, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
            result = _run(raw)
            if isinstance(result, Valid):
                assert result.record["text"] == clean_text(json.loads(raw)["text"]), repr(text)
            else:  # only a raw lone surrogate is not UTF-8
                assert result.dlq_record["error_type"] == "decode" and not ensure_ascii


def test_everything_the_generator_produces_still_validates_unchanged() -> None:
    """Nothing that validated before is rejected: the generator's records all follow the old contract."""
    for n, item in enumerate(generate(GeneratorConfig(seed=4, conversations=20, malformed_every=0))):
        result = _valid(item["value"], item["topic"], kafka_ms=KAFKA_MS + 86_400_000)
        assert result.record == item["value"], n
        assert result.unknown_fields == () and result.notes == ()
