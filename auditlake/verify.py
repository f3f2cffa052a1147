"""`cuecard audit verify` and `vacuum`: recompute the hash chains against the Delta log, and clean up safely.

Verification reads the log itself rather than trusting a loaded snapshot: the commit versions must be
contiguous from the last checkpoint, there must be no remove actions (tables are append-only), every data
file must exist with the size its add action recorded, each commit's rows must match the chain summary it
wrote into its commitInfo, and every date partition's chain must recompute. Data files the log does not
reference are read too: rows in them that the table lacks mean a commit was removed from the log (or a
crashed write was never retried).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from auditlake.chain import Finding, verify_partition
from auditlake.store import CHAIN_METADATA_KEY, AuditStore
from auditlake.tables import PARTITION_COLUMN, TABLES

_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT_FILE = re.compile(r"^(\d{20})\.checkpoint(\.\d+\.\d+)?\.parquet$")
DEFAULT_RETENTION_HOURS = 168.0


@dataclass(frozen=True)
class AddedFile:
    """A data file the log added: commit version (-1 when from a checkpoint), path, partition, size."""

    version: int
    path: str
    partition: str
    size: int | None


def _read_log(table: str, log_dir: Path) -> tuple[list[AddedFile], dict[int, dict], list[Finding]]:
    findings: list[Finding] = []
    commits = sorted(int(m.group(1)) for p in log_dir.iterdir() if (m := _COMMIT_FILE.match(p.name)))
    checkpoints = sorted(int(m.group(1)) for p in log_dir.iterdir() if (m := _CHECKPOINT_FILE.match(p.name)))
    checkpoint = max((c for c in checkpoints if c <= max(commits, default=-1)), default=-1)
    replay = [v for v in commits if v > checkpoint]
    expected = range(checkpoint + 1, max(commits, default=checkpoint) + 1)
    for version in sorted(set(expected) - set(replay)):
        findings.append(Finding(table, "", "log_entry_missing", f"commit {version} is missing from _delta_log"))
    added: list[AddedFile] = []
    if checkpoint >= 0:
        for part in sorted(log_dir.glob(f"{checkpoint:020d}.checkpoint*.parquet")):
            for action in pq.read_table(part, columns=["add"]).column("add").to_pylist():
                if action:
                    values = dict(action.get("partitionValues") or {})
                    added.append(AddedFile(-1, action["path"], str(values.get(PARTITION_COLUMN)), action.get("size")))
    summaries: dict[int, dict] = {}
    for version in replay:
        for line_no, line in enumerate((log_dir / f"{version:020d}.json").read_text().splitlines(), 1):
            try:
                action = json.loads(line)
            except ValueError:
                findings.append(Finding(table, "", "log_entry_altered", f"commit {version} line {line_no} is not JSON"))
                continue
            if "add" in action:
                add = action["add"]
                partition = str((add.get("partitionValues") or {}).get(PARTITION_COLUMN))
                added.append(AddedFile(version, add["path"], partition, add.get("size")))
            elif "remove" in action:
                path = action["remove"].get("path")
                findings.append(Finding(table, "", "log_entry_altered", f"commit {version} removes {path}"))
            elif "commitInfo" in action and CHAIN_METADATA_KEY in action["commitInfo"]:
                summaries[version] = json.loads(action["commitInfo"][CHAIN_METADATA_KEY])
    return added, summaries, findings


def _rows_of(path: Path, partition: str) -> list[dict[str, Any]]:
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        row.setdefault(PARTITION_COLUMN, partition)
    return rows


def verify_table(root: Path, table: str) -> list[Finding]:
    """Every finding for one table (an empty list: the table is intact)."""
    spec = TABLES[table]
    table_dir = root / table
    added, summaries, findings = _read_log(table, table_dir / "_delta_log")
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_commit: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for item in added:
        path = table_dir / item.path
        if not path.exists():
            findings.append(Finding(table, item.partition, "data_file_missing", f"{item.path} (commit {item.version})"))
            continue
        if item.size is not None and path.stat().st_size != item.size:
            findings.append(
                Finding(table, item.partition, "data_file_altered", f"{item.path} is not the size commit recorded")
            )
        try:
            rows = _rows_of(path, item.partition)
        except (OSError, ValueError) as err:
            findings.append(Finding(table, item.partition, "data_file_unreadable", f"{item.path}: {err}"))
            continue
        by_partition[item.partition].extend(rows)
        by_commit[(item.version, item.partition)].extend(rows)

    for partition, rows in sorted(by_partition.items()):
        findings.extend(verify_partition(table, partition, rows, spec.column_names, spec.key))

    for version, summary in sorted(summaries.items()):
        for partition, entry in sorted(summary.items()):
            rows = sorted(by_commit.get((version, partition), []), key=lambda r: r.get("chain_seq") or -1)
            seqs = [r.get("chain_seq") for r in rows]
            want = list(range(entry["first"], entry["last"] + 1))
            if seqs != want or (rows and rows[-1].get("row_hash") != entry["hash"]):
                findings.append(
                    Finding(
                        table,
                        partition,
                        "log_entry_altered",
                        f"commit {version} recorded chain_seq {entry['first']}..{entry['last']} "
                        f"but its files hold {len(rows)} rows",
                    )
                )

    keys = {row.get(spec.key) for rows in by_partition.values() for row in rows}
    referenced = {item.path for item in added}
    for path in sorted(table_dir.rglob("*.parquet")):
        relative = path.relative_to(table_dir).as_posix()
        if relative.startswith("_delta_log/") or relative in referenced:
            continue
        partition = path.parent.name.split("=", 1)[-1]
        try:
            missing = [r.get(spec.key) for r in _rows_of(path, partition) if r.get(spec.key) not in keys]
        except (OSError, ValueError):
            continue  # a torn file of a crashed write holds no committed rows
        if missing:
            findings.append(
                Finding(
                    table,
                    partition,
                    "unreferenced_rows",
                    f"{relative} holds {len(missing)} rows the table lacks (a removed log entry, "
                    "or a crashed write not yet retried: run the writer, then verify again)",
                )
            )
    return findings


def verify(root: Path, tables: list[str] | None = None) -> list[Finding]:
    """Findings for the given tables (default: every table that exists under root)."""
    names = tables or [name for name in TABLES if (root / name / "_delta_log").is_dir()]
    findings: list[Finding] = []
    for name in names:
        if not (root / name / "_delta_log").is_dir():
            findings.append(Finding(name, "", "table_missing", f"no Delta table at {root / name}"))
            continue
        findings.extend(verify_table(root, name))
    return findings


def vacuum(
    root: Path, retention_hours: float, *, dry_run: bool, out: Callable[[str], None] = print
) -> dict[str, list[str]]:
    """Delete data files no commit references (orphans of crashed writes) older than the retention; per table."""
    store = AuditStore(root).open(create=False)
    removed: dict[str, list[str]] = {}
    for name in store.names():
        files = store.table(name).vacuum(
            retention_hours=int(retention_hours),
            dry_run=dry_run,
            enforce_retention_duration=retention_hours >= DEFAULT_RETENTION_HOURS,
            full=True,  # also files no commit ever referenced: the orphans of crashed writes
        )
        removed[name] = list(files)
        verb = "would delete" if dry_run else "deleted"
        out(f"{name}: {verb} {len(files)} unreferenced files older than {retention_hours:g} h")
        for path in files:
            out(f"  {path}")
    return removed
