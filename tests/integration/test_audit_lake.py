"""Audit lake on real Delta tables: named queries on a known dataset, GE quarantine, tamper detection."""

import json
from collections import namedtuple
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from auditlake.query import run_adhoc, run_named
from auditlake.sql import QueryError
from auditlake.verify import verify
from auditlake.writer import AuditWriter, WriterConfig
from cuecard import audit_cmd
from tests.fixtures.audit_samples import POLICY_A, POLICY_B, dead_letter, known_dataset, suggestion, turn

Record = namedtuple("Record", "topic partition offset value")
AUDIT_TPS = [("coaching.audit", 0), ("coaching.dlq", 0)]


def _write(root: Path, records: list[dict], batches: int = 3, dlq: list[dict] = ()) -> AuditWriter:
    """Feed records through the writer's batch path (no broker: Delta and GE are real)."""
    writer = AuditWriter(WriterConfig("unused:1", root), out=lambda _line: None)
    writer.store.open()
    writer.gate.load()
    writer.prepare(AUDIT_TPS)
    feed = [Record("coaching.audit", 0, i, json.dumps(r).encode()) for i, r in enumerate(records)]
    feed += [Record("coaching.dlq", 0, i, json.dumps(r).encode()) for i, r in enumerate(dlq)]
    size = -(-len(feed) // batches)
    for start in range(0, len(feed), size):
        writer.process(feed[start : start + size])
    return writer


@pytest.fixture(scope="module")
def known_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake") / "delta"
    _write(root, known_dataset(), dlq=[dead_letter(5)])
    return root


def _rows(result) -> list[dict]:
    return result.to_pylist()


def test_why_suggestion(known_lake):
    (row,) = _rows(run_named(known_lake, "why_suggestion", {"suggestion_id": "sug-2"}))
    assert row["status"] == "blocked"
    assert row["rules_fired"] == ["forbidden_phrase", "tone"]
    assert row["turn_text"] == "I want a refund" and row["intent"] == "refund_request"
    assert row["policy_version"] == POLICY_A and json.loads(row["model_versions"])["intent"] == "intent@1"


def test_conversation_shown(known_lake):
    rows = _rows(run_named(known_lake, "conversation_shown", {"conversation_id": "conv-1"}))
    assert [(r["suggestion_id"], r["turn_seq"]) for r in rows] == [("sug-1", 0), ("sug-3", 1)]


def test_blocked_by_rule(known_lake):
    rows = _rows(run_named(known_lake, "blocked_by_rule", {"rule_id": "forbidden_phrase", "policy_version": POLICY_B}))
    assert [r["suggestion_id"] for r in rows] == ["sug-4"]
    assert _rows(run_named(known_lake, "blocked_by_rule", {"rule_id": "tone", "policy_version": POLICY_B})) == []


def test_acceptance_by_model(known_lake):
    rows = {
        json.loads(r["model_versions"])["intent"]: r for r in _rows(run_named(known_lake, "acceptance_by_model", {}))
    }
    assert (rows["intent@1"]["feedback"], rows["intent@1"]["accepted"], rows["intent@1"]["dismissed"]) == (2, 1, 1)
    assert (rows["intent@2"]["feedback"], rows["intent@2"]["accepted"], rows["intent@2"]["edited"]) == (2, 1, 1)
    assert rows["intent@1"]["acceptance_rate"] == 0.5


def test_table_as_of_version_and_timestamp(known_lake):
    table = DeltaTable(str(known_lake / "suggestions"))
    history = {h["version"]: h for h in table.history()}
    counts = {
        v: len(_rows(run_named(known_lake, "table_as_of", {"table": "suggestions", "as_of_version": str(v)})))
        for v in sorted(history)
    }
    assert counts[0] == 0 and counts[max(counts)] == 5
    assert list(counts.values()) == sorted(counts.values())  # grows commit by commit
    latest = _rows(run_named(known_lake, "table_as_of", {"table": "suggestions"}))
    assert [r["chain_seq"] for r in latest if r["date"] == "2026-11-25"] == [0, 1, 2]
    from datetime import UTC, datetime

    first_ts = datetime.fromtimestamp(history[1]["timestamp"] / 1000, UTC).isoformat()
    as_of = run_named(known_lake, "table_as_of", {"table": "suggestions", "as_of_timestamp": first_ts})
    assert as_of.num_rows == counts[1]


def test_adhoc_sql_read_only_and_exports(known_lake, tmp_path, capsys):
    assert run_adhoc(known_lake, "SELECT count(*) AS n FROM dead_letters", {}).to_pylist() == [{"n": 1}]
    with pytest.raises(QueryError, match="read-only"):
        run_adhoc(known_lake, "INSERT INTO turns SELECT * FROM turns", {})
    parser = __import__("argparse").ArgumentParser()
    audit_cmd.register(parser.add_subparsers())
    csv = tmp_path / "out.csv"
    args = parser.parse_args(
        [
            "audit",
            "query",
            "conversation_shown",
            "--param",
            "conversation_id=conv-2",
            "--root",
            str(known_lake),
            "--csv",
            str(csv),
        ]
    )
    assert args.func(args) == 0
    lines = csv.read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith('"turn_seq"') and "sug-5" in lines[1]
    args = parser.parse_args(["audit", "query", "--sql", "DROP TABLE turns", "--root", str(known_lake)])
    assert args.func(args) == 2
    assert "read-only" in capsys.readouterr().err
    args = parser.parse_args(
        [
            "audit",
            "query",
            "--sql",
            "SELECT suggestion_id FROM suggestions WHERE status = :s",
            "--param",
            "s=blocked",
            "--root",
            str(known_lake),
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "sug-2" in out and "sug-4" in out and "(2 rows)" in out


def test_failing_rows_are_quarantined_not_lost(tmp_path):
    root = tmp_path / "delta"
    bad = [
        suggestion("c9", "e1", "bad-status", "2026-11-25T08:00:00Z", "maybe", []),
        suggestion("c9", "e2", "pii", "2026-11-25T08:00:00Z", "shown", [], text="mail me at jo@example.com"),
        turn("c9", "e3", 0, "2026-11-25T08:00:00Z", "my ssn is 123-45-6789"),
        suggestion("c9", "e4", "slow", "2026-11-25T08:00:00Z", "shown", [], latency_ms={"deep": 120000.0}),
    ]
    good = known_dataset()
    _write(root, good + bad, batches=2)
    quarantine = run_adhoc(root, "SELECT table_name, row_key, failed_expectations, row_json FROM quarantine", {})
    by_key = {r["row_key"]: r for r in quarantine.to_pylist()}
    assert len(by_key) == 4
    names = {
        json.loads(r["row_json"]).get("suggestion_id") or "turn": r["failed_expectations"] for r in by_key.values()
    }
    assert names["bad-status"] == ["ExpectColumnValuesToBeInSet(status)"]
    assert names["pii"] == ["ExpectColumnValuesToNotMatchRegexList(text)"]
    assert names["turn"] == ["ExpectColumnValuesToNotMatchRegexList(masked_text)"]
    assert names["slow"] == ["ExpectColumnValuesToBeBetween(latency_total_ms)"]
    assert (
        "jo@example.com" not in quarantine.to_pandas().to_json()
        and "123-45-6789" not in quarantine.to_pandas().to_json()
    )
    counts = run_adhoc(root, "SELECT (SELECT count(*) FROM suggestions) s, (SELECT count(*) FROM turns) t", {})
    assert counts.to_pylist() == [{"s": 5, "t": 3}]  # the good rows committed beside the quarantined ones
    assert verify(root) == []


def test_validate_writes_data_docs(known_lake, tmp_path):
    from auditlake.validate import validate_tables

    results = validate_tables(known_lake, tmp_path / "docs")
    assert {r.table for r in results} == {"suggestions", "turns", "policy_decisions", "feedback", "dead_letters"}
    assert all(r.success for r in results), results
    assert (tmp_path / "docs" / "index.html").exists()


def _kinds(root: Path) -> set[str]:
    return {f.kind for f in verify(root)}


@pytest.fixture
def lake(tmp_path):
    root = tmp_path / "delta"
    _write(root, known_dataset(), batches=2)
    assert verify(root) == []
    return root


def _data_files(root: Path, table: str) -> list[Path]:
    dt = DeltaTable(str(root / table))
    return [root / table / p for p in dt.get_add_actions(flatten=True).column("path").to_pylist()]


def test_verify_catches_edited_row(lake):
    path = max(_data_files(lake, "suggestions"), key=lambda p: pq.read_metadata(p).num_rows)
    table = pq.read_table(path).to_pylist()
    table[0]["text"] = "a friendlier text"
    pq.write_table(__import__("pyarrow").Table.from_pylist(table, pq.read_schema(path)), path)
    assert "changed" in _kinds(lake)


def test_verify_catches_deleted_row(lake):
    path = max(_data_files(lake, "turns"), key=lambda p: pq.read_metadata(p).num_rows)
    table = pq.read_table(path)
    assert table.num_rows >= 2
    pq.write_table(table.slice(1), path)  # drop the first row of the file
    kinds = _kinds(lake)
    assert "deleted" in kinds or "log_entry_altered" in kinds
    assert "log_entry_altered" in kinds  # the commit recorded more rows than its file now holds


def test_verify_catches_removed_log_entries(lake):
    log = lake / "suggestions" / "_delta_log"
    commits = sorted(log.glob("0*.json"))
    middle = [c for c in commits[:-1] if '"add"' in c.read_text()][-1]
    middle.unlink()  # a commit in the middle
    assert {"log_entry_missing", "unreferenced_rows"} <= _kinds(lake)
    middle.write_text("")  # hidden by an empty file: the versions look contiguous, its rows are still orphans
    assert "unreferenced_rows" in _kinds(lake)


def test_verify_catches_removed_last_log_entry(lake):
    log = lake / "suggestions" / "_delta_log"
    last = sorted(log.glob("0*.json"))[-1]
    assert '"add"' in last.read_text()
    last.unlink()  # the newest commit: no version gap, but its rows are in a file nothing references
    assert "unreferenced_rows" in _kinds(lake)


def test_verify_cli_exit_codes(lake, capsys):
    parser = __import__("argparse").ArgumentParser()
    audit_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["audit", "verify", "--root", str(lake)])
    assert args.func(args) == 0
    path = _data_files(lake, "feedback")[0]
    pq.write_table(pq.read_table(path).slice(1), path)
    assert args.func(args) == 1
    assert "feedback/" in capsys.readouterr().out


def test_vacuum_removes_orphans_only(lake, capsys):
    orphan = lake / "turns" / "date=2026-11-25" / "part-orphan.parquet"
    pq.write_table(pq.read_table(_data_files(lake, "turns")[0]), orphan)  # a crashed write's copy: no new rows
    assert verify(lake) == []
    parser = __import__("argparse").ArgumentParser()
    audit_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["audit", "vacuum", "--root", str(lake), "--retention-hours", "0", "--force", "--dry-run"])
    assert args.func(args) == 0 and orphan.exists() and "part-orphan.parquet" in capsys.readouterr().out
    args = parser.parse_args(["audit", "vacuum", "--root", str(lake), "--retention-hours", "0", "--force"])
    assert args.func(args) == 0 and not orphan.exists()
    assert verify(lake) == []
    assert run_adhoc(lake, "SELECT count(*) AS n FROM turns", {}).to_pylist() == [{"n": 3}]
