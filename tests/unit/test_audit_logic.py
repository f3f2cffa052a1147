import json
from datetime import UTC, datetime

import pytest

from auditlake.batching import BatchPolicy, app_id, resume_offsets, transactions_to_commit, uncommitted
from auditlake.chain import GENESIS, chain_rows, verify_partition
from auditlake.quality import Outcome, failed_rows, split_rows
from auditlake.rows import KafkaCoords, flatten_record, redact_pii
from auditlake.sql import Param, QueryError, bind, check_read_only, parse_query
from auditlake.tables import TABLES
from tests.fixtures.audit_samples import dead_letter, known_dataset, suggestion

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AUDIT = KafkaCoords("coaching.audit", 1, 42)


def _flat(record: dict, coords: KafkaCoords = AUDIT) -> list:
    return flatten_record(json.dumps(record).encode(), coords, NOW)


@pytest.mark.unit
def test_suggestion_flattens_to_row_and_one_decision_per_distinct_rule():
    record = suggestion("c", "e", "s", "2026-11-24T23:59:59.999Z", "blocked", ["r1", "r2", "r1"])
    rows = _flat(record)
    assert [t for t, _ in rows] == ["suggestions", "policy_decisions", "policy_decisions"]
    row = rows[0][1]
    assert row["date"] == "2026-11-24"  # partitioned by the event's UTC day, not the write time
    assert row["latency_total_ms"] == 15.5
    assert row["model_versions"] == '{"intent":"intent@1","ranker":"minilm@1"}'
    assert (row["kafka_topic"], row["kafka_partition"], row["kafka_offset"]) == ("coaching.audit", 1, 42)
    assert [r["rule_id"] for _, r in rows[1:]] == ["r1", "r2"]
    assert all(r["blocked"] and r["audit_id"] == row["audit_id"] for _, r in rows[1:])
    assert len({r["decision_id"] for _, r in rows[1:]}) == 2
    assert set(row) == set(TABLES["suggestions"].column_names) - {"chain_seq", "prev_hash", "row_hash"}


@pytest.mark.unit
def test_bad_records_are_quarantined_not_dropped():
    ((table, row),) = flatten_record(b"{not json", AUDIT, NOW)
    assert table == "quarantine" and row["failed_expectations"][0].startswith("decode")
    ((table, row),) = _flat({"record_type": "gossip", "audit_id": "x"})
    assert table == "quarantine" and row["row_key"] == "x"


@pytest.mark.unit
def test_dead_letter_keeps_fingerprint_not_payload():
    ((table, row),) = _flat(dead_letter(7), KafkaCoords("coaching.dlq", 0, 3))
    assert table == "dead_letters"
    assert row["raw_length"] > 0 and len(row["raw_sha256"]) == 64
    assert "4111" not in json.dumps(row, default=str)


@pytest.mark.unit
def test_redact_pii_kinds():
    text, kinds = redact_pii("card 4111 1111 1111 1111, mail a.b@example.com, ssn 123-45-6789, call (555) 123-4567")
    assert sorted(kinds) == ["CARD", "EMAIL", "PHONE", "SSN"]
    assert "4111" not in text and "example.com" not in text and "6789" not in text
    assert redact_pii("order 12345 shipped on 2026-11-25")[1] == []


def _chained(n: int) -> list[dict]:
    columns = TABLES["turns"].column_names
    rows = [r for rec in known_dataset() for t, r in _flat(rec) if t == "turns"][:n]
    for row in rows:
        row["date"] = "2026-11-25"
    chain_rows(rows, {}, columns)
    return rows


@pytest.mark.unit
def test_chain_links_and_continues_from_heads():
    columns = TABLES["turns"].column_names
    rows = _chained(3)
    assert [r["chain_seq"] for r in rows] == [0, 1, 2]
    assert rows[0]["prev_hash"] == GENESIS and rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert verify_partition("turns", "2026-11-25", rows, columns, "audit_id") == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (lambda rows: rows[1].update(masked_text="edited"), "changed"),
        (lambda rows: rows.pop(1), "deleted"),
        (lambda rows: rows.reverse(), "reordered"),
    ],
)
def test_verify_partition_reports_tampering(tamper, kind):
    rows = _chained(3)
    tamper(rows)
    kinds = {f.kind for f in verify_partition("turns", "d", rows, TABLES["turns"].column_names, "audit_id")}
    assert kind in kinds


@pytest.mark.unit
def test_batch_policy_size_or_time():
    policy = BatchPolicy(max_records=3, max_seconds=1.0)
    assert not policy.due(2, 10.0, 10.5)
    assert policy.due(3, 10.0, 10.1)
    assert policy.due(1, 10.0, 11.0)
    assert not policy.due(0, None, 99.0)


@pytest.mark.unit
def test_resume_at_lowest_committed_and_skip_committed_rows():
    a0, a1 = ("coaching.audit", 0), ("coaching.audit", 1)
    committed = {"turns": {a0: 10, a1: None}, "suggestions": {a0: 7, a1: 4}}
    tables = {"coaching.audit": ["turns", "suggestions"]}
    assert resume_offsets(committed, [a0, a1], tables) == {a0: 8, a1: 0}
    rows = [{"kafka_topic": "coaching.audit", "kafka_partition": 0, "kafka_offset": o} for o in (7, 8, 11)]
    assert [r["kafka_offset"] for r in uncommitted(rows, committed["turns"])] == [11]
    assert [r["kafka_offset"] for r in uncommitted(rows, committed["suggestions"])] == [8, 11]
    # a batch already committed (version not higher) records no transaction: the writer skips it
    assert transactions_to_commit({a0: 10}, committed["turns"], ["coaching.audit"]) == {}
    assert transactions_to_commit({a0: 12, a1: 3}, committed["turns"], ["coaching.audit"]) == {a0: 12, a1: 3}
    assert transactions_to_commit({a0: 12}, committed["turns"], ["coaching.dlq"]) == {}
    assert app_id("turns", "coaching.audit", 1) == "cuecard-audit/turns/coaching.audit/1"


@pytest.mark.unit
def test_quarantine_split_by_row_position():
    outcomes = [
        Outcome("ExpectColumnValuesToBeInSet(status)", success=False, unexpected_index=[1]),
        Outcome("ExpectColumnValuesToNotMatchRegexList(text)", success=False, unexpected_index=[1, 2]),
        Outcome("ExpectColumnValuesToNotBeNull(audit_id)", success=True, unexpected_index=[]),
    ]
    failures = failed_rows(outcomes, 4)
    assert failures == {
        1: ["ExpectColumnValuesToBeInSet(status)", "ExpectColumnValuesToNotMatchRegexList(text)"],
        2: ["ExpectColumnValuesToNotMatchRegexList(text)"],
    }
    passed, failed = split_rows([{"i": i} for i in range(4)], failures)
    assert [r["i"] for r in passed] == [0, 3] and [r["i"] for r, _ in failed] == [1, 2]
    assert failed_rows([Outcome("X(c)", success=False, unexpected_index=None)], 2) == {0: ["X(c)"], 1: ["X(c)"]}


QUERY = """-- name: q
-- description: first line
--   second line
-- param conv (str): a conversation
-- param n (int, optional): a limit
-- param table (table): which table
SELECT ':conv', x::int, :conv AS c, :n AS n FROM {table} -- :conv in a comment
"""


@pytest.mark.unit
def test_named_query_header_and_binding():
    query = parse_query("q", QUERY)
    assert query.description == "first line second line"
    assert [(p.name, p.type, p.optional) for p in query.params] == [
        ("conv", "str", False),
        ("n", "int", True),
        ("table", "table", False),
    ]
    sql, travel = bind(query.sql, query.params, {"conv": "o'brien", "table": "turns", "as_of_version": "3"}, ["turns"])
    assert "SELECT ':conv', x::int, 'o''brien' AS c, NULL AS n FROM turns" in sql
    assert travel.version == 3 and travel.timestamp is None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"table": "turns"}, "missing"),
        ({"conv": "x", "table": "turns", "bogus": "1"}, "unknown"),
        ({"conv": "x", "table": "turns; DROP"}, "not one of"),
        ({"conv": "x", "table": "turns", "n": "1 OR 1=1"}, "not a valid int"),
        ({"conv": "x", "table": "turns", "as_of_version": "1", "as_of_timestamp": "2026-11-25T00:00:00Z"}, "not both"),
    ],
)
def test_binding_rejects_bad_values(values, message):
    query = parse_query("q", QUERY)
    with pytest.raises(QueryError, match=message):
        bind(query.sql, query.params, values, ["turns"])


@pytest.mark.unit
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO turns VALUES (1)",
        "DELETE FROM turns",
        "COPY turns TO '/tmp/x'",
        "SELECT 1; DROP TABLE turns",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/tmp'",
        "-- just a comment",
    ],
)
def test_read_only_check_rejects_non_queries(sql):
    with pytest.raises(QueryError):
        check_read_only(sql)


@pytest.mark.unit
def test_read_only_check_accepts_queries():
    assert (
        check_read_only("-- c\nWITH a AS (SELECT ';' AS s) SELECT * FROM a;")
        == "WITH a AS (SELECT ';' AS s) SELECT * FROM a"
    )
    assert check_read_only("select 1") == "select 1"
    assert bind("SELECT :a", [Param("a", "bool", optional=False, description="")], {"a": "yes"}, [])[0] == "SELECT TRUE"


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("paid with 4111 1111 1111 1111 yesterday", True),
        ("card 5555-5555-5555-4444", True),
        ("the order number is 4111 1111 1111 1112 and it cost $49.99", False),  # fails Luhn: an order number
        ("reference 20261125000123", False),
        ("masked [CARD_LAST4:1111]", False),
        (None, False),
    ],
)
def test_card_check_follows_luhn_like_the_masker(text, flagged):
    from auditlake.quality import has_card_number

    assert has_card_number(text) is flagged
