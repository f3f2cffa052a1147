import json

import pytest

from cuecard.kafka_clients import parse_feed_line


def test_json_value_is_compact_utf8():
    record = parse_feed_line(json.dumps({"topic": "t", "key": "k1", "value": {"text": "héllo"}}), 1)
    assert record.topic == "t" and record.key == b"k1"
    assert json.loads(record.value) == {"text": "héllo"}


def test_raw_value_is_kept_byte_for_byte():
    record = parse_feed_line(json.dumps({"topic": "t", "key": None, "value_raw": "{not json"}), 1)
    assert record.value == b"{not json" and record.key is None


def test_bad_line_names_its_number():
    with pytest.raises(ValueError, match="line 7"):
        parse_feed_line('{"key": "x"}', 7)
