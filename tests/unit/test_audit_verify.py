"""`audit verify` on a real Delta table past several checkpoints: exact on an intact lake, every tamper found.

The table is written through the writer's batch path (no broker, no quality gate): 250 commits, so the
log has checkpoints at versions 99 and 199, whose files come in no commit order.
"""

import json
import shutil
from collections import Counter, namedtuple
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditlake.verify import verify
from auditlake.writer import AuditWriter, WriterConfig
from tests.fixtures.audit_samples import turn

Record = namedtuple("Record", "topic partition offset value")
COMMITS = 250  # one per batch; version 0 is the table's creation
DAYS = ("2026-11-25", "2026-11-26")


@pytest.fixture(scope="module")
def big_lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big") / "delta"
    writer = AuditWriter(WriterConfig("unused:1", root, quality=False), out=lambda _line: None)
    writer.store.open()
    writer.prepare([("coaching.audit", 0)])
    writer.committed = {"turns": writer.committed["turns"]}  # only turns commits: 250 batches, 250 commits
    for batch in range(COMMITS):
        records = []
        for i in range(4):  # two rows per date and commit
            offset = batch * 4 + i
            record = turn(f"conv-{batch}", f"ev-{offset}", i, f"{DAYS[i % 2]}T08:00:00Z", f"turn {offset}")
            records.append(Record("coaching.audit", 0, offset, json.dumps(record).encode()))
        writer.process(records)
    return root


@pytest.fixture
def lake(big_lake, tmp_path) -> Path:
    return Path(shutil.copytree(big_lake, tmp_path / "delta"))


def _log(lake: Path) -> Path:
    return lake / "turns" / "_delta_log"


def _file_of(lake: Path, version: int, day: str) -> Path:
    """The data file commit `version` added for a date."""
    for line in (_log(lake) / f"{version:020d}.json").read_text().splitlines():
        add = json.loads(line).get("add")
        if add and add["partitionValues"]["date"] == day:
            return lake / "turns" / add["path"]
    raise AssertionError(f"commit {version} added no file for {day}")


def _rewrite(path: Path, edit) -> list[int]:
    """Rewrite a data file's rows through `edit`; returns the chain_seqs it held."""
    rows = pq.read_table(path).to_pylist()
    seqs = [r["chain_seq"] for r in rows]
    pq.write_table(pa.Table.from_pylist(edit(rows), schema=pq.read_schema(path)), path)
    return seqs


def _summary(findings) -> Counter:
    return Counter((f.kind, f.partition) for f in findings)


def test_intact_lake_past_checkpoints_has_no_findings(lake):
    log = _log(lake)
    assert (log / f"{COMMITS:020d}.json").exists()
    checkpoint = pq.read_table(log / "00000000000000000199.checkpoint.parquet", columns=["add.path"]).column(0)
    listed = [p for p in checkpoint.to_pylist() if p]
    in_commit_order = [_file_of(lake, v, d).name for v in range(1, 200) for d in DAYS]
    assert (log / "00000000000000000099.checkpoint.parquet").exists()
    assert [Path(p).name for p in listed] != in_commit_order  # the order that made verify cry "reordered"
    assert sorted(Path(p).name for p in listed) == sorted(in_commit_order)
    assert verify(lake) == []


def test_every_planted_row_tamper_is_found_and_nothing_else(lake):
    day, other = DAYS
    edited = _rewrite(_file_of(lake, 10, day), lambda rows: [{**rows[0], "masked_text": "edited"}, rows[1]])
    deleted = _rewrite(_file_of(lake, 120, day), lambda rows: rows[1:])
    reordered = _rewrite(_file_of(lake, 210, other), lambda rows: rows[::-1])
    duplicated = _rewrite(_file_of(lake, 245, other), lambda rows: [*rows, rows[0]])

    findings = verify(lake)
    details = {(f.kind, f.detail.split(" (")[0]) for f in findings}
    assert ("changed", f"chain_seq {edited[0]}") in details
    assert ("deleted", f"chain_seq {deleted[0]} is missing") in details
    assert ("reordered", f"chain_seq {reordered[0]}") in details
    assert ("duplicated", f"chain_seq {duplicated[0]} appears more than once") in details
    # Rewritten files no longer have their recorded size, and the two whose row count changed no longer
    # match their commit's chain summary; nothing else (no row of the other 496 files) is reported.
    assert _summary(findings) == Counter(
        {
            ("changed", day): 1,
            ("deleted", day): 1,
            ("reordered", other): 1,
            ("duplicated", other): 1,
            ("data_file_altered", day): 2,
            ("data_file_altered", other): 2,
            ("log_entry_altered", day): 1,
            ("log_entry_altered", other): 1,
        }
    )


def test_missing_commit_and_altered_checkpoint_are_found(lake):
    log = _log(lake)
    (log / f"{50:020d}.json").unlink()  # below both checkpoints: readers still see its rows
    checkpoint = log / "00000000000000000199.checkpoint.parquet"
    hidden = _file_of(lake, 20, DAYS[0]).relative_to(lake / "turns").as_posix()
    table = pq.read_table(checkpoint)
    kept = [action for action in table.to_pylist() if (action["add"] or {}).get("path") != hidden]
    pq.write_table(pa.Table.from_pylist(kept, schema=table.schema), checkpoint)  # readers no longer see a file

    findings = verify(lake)
    assert [(f.kind, f.detail.split(",")[0]) for f in findings] == [
        ("log_entry_missing", "commit 50 is missing from _delta_log"),
        ("log_entry_altered", "checkpoint 199 omits 1 files its commits added"),
    ]


def test_last_commit_removed_leaves_its_rows_unreferenced(lake):
    (_log(lake) / f"{COMMITS:020d}.json").unlink()
    assert {f.kind for f in verify(lake)} == {"unreferenced_rows"}
