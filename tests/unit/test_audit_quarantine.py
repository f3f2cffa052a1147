"""Quarantine keeps ids readable (a long numeric id is not a card number) and still masks free text."""

import json
from datetime import UTC, datetime

from auditlake.rows import KafkaCoords, flatten_record, quarantine_row
from tests.fixtures.audit_samples import dead_letter, suggestion

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CANARY = "4111 1111 1111 1111"  # a real (Luhn-valid) card number
IDS = {
    "conversation_id": "4012888888881881",  # all digits, itself Luhn-valid: still an id
    "event_id": "ev-1795600000000123",
    "suggestion_id": "sug-20261125083000123",
}


def test_unknown_record_keeps_ids_and_masks_free_text():
    record = suggestion(
        IDS["conversation_id"], IDS["event_id"], IDS["suggestion_id"], "2026-11-25T08:00:00Z", "shown", []
    )
    record.update(record_type="gossip", text=f"paid with {CANARY}", note={"card": 4111111111111111, "seq": 3})
    ((table, row),) = flatten_record(json.dumps(record).encode(), KafkaCoords("coaching.audit", 0, 7), NOW)
    assert table == "quarantine"
    stored = json.loads(row["row_json"])
    assert {name: stored[name] for name in IDS} == IDS
    assert stored["audit_id"] == record["audit_id"] == row["row_key"]
    assert stored["input_hashes"] == record["input_hashes"]
    assert stored["text"] == "paid with [REDACTED:CARD]"
    assert stored["note"] == {"card": "[REDACTED:CARD]", "seq": 3}  # a number in a raw record may be a card
    assert "4111" not in row["row_json"]


def test_failed_row_keeps_ids_and_coordinates_and_masks_free_text():
    ((_, dlq),) = flatten_record(json.dumps(dead_letter(5)).encode(), KafkaCoords("coaching.dlq", 0, 3), NOW)
    dlq["error"] = f"card {CANARY} in field 'seq'"
    row = quarantine_row("dead_letters", dlq["dlq_id"], ["X(error)"], dlq, KafkaCoords("coaching.dlq", 0, 3), NOW)
    stored = json.loads(row["row_json"])
    assert stored["dlq_id"] == dlq["dlq_id"] and stored["raw_sha256"] == dlq["raw_sha256"]
    assert stored["source_timestamp_ms"] == 1795600000000  # 13 digits, an epoch in ms
    assert stored["error"] == "card [REDACTED:CARD] in field 'seq'"


def test_undecodable_record_is_masked_whole():
    value = f'{{"event_id": "ev-1", "text": "{CANARY}"'.encode()
    ((_, row),) = flatten_record(value, KafkaCoords("coaching.audit", 0, 8), NOW)
    assert CANARY not in row["row_json"] and "[REDACTED:CARD]" in row["row_json"]
