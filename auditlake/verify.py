"""`cuecard audit verify` and `vacuum`: recompute the hash chains against the Delta log, and clean up safely.

Verification reads the log itself rather than trusting a loaded snapshot (`auditlake.deltalog`): every
commit version must be there, there must be no remove actions (tables are append-only), the newest
checkpoint must list exactly the files its commits added, every data file must exist with the size its
add action recorded, each commit's rows must match the chain summary it wrote into its commitInfo, and
every date partition's chain must recompute with its rows in commit order. Data files the log does not
reference are read too: rows in them that the table lacks mean a commit was removed from the log (or a
crashed write was never retried).
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from auditlake.chain import Finding, verify_partition
from auditlake.deltalog import AddedFile, read_log
from auditlake.store import AuditStore, lake_tables
from auditlake.tables import PARTITION_COLUMN, TABLES

DEFAULT_RETENTION_HOURS = 168.0
Rows = list[dict[str, Any]]


def _rows_of(path: Path, partition: str) -> Rows:
    # verify reads every data file: for small ones ParquetFile without threads is several times cheaper than read_table.
    with pq.ParquetFile(path) as data:
        rows = data.read(use_threads=False).to_pylist()
    for row in rows:
        row.setdefault(PARTITION_COLUMN, partition)
    return rows


def _seq(row: dict[str, Any]) -> int:
    seq = row.get("chain_seq")
    return seq if isinstance(seq, int) else -1


def _lowest_seq(rows: Rows) -> int:
    return min(map(_seq, rows), default=-1)


def _in_commit_order(files: list[tuple[AddedFile, Rows]]) -> Rows:
    """A partition's rows by commit version, then file, then position in the file.

    Delta gives the files of one commit no order, so those go by their lowest chain_seq. A file only a
    checkpoint lists (its commit file is gone: reported already) goes after the newest commit holding a
    lower chain_seq, so the lost version does not also show as reordered rows.
    """
    known = sorted((_lowest_seq(rows), f.version) for f, rows in files if f.version is not None)
    lows = [low for low, _ in known]
    newest = list(itertools.accumulate((version for _, version in known), max))

    def key(item: tuple[AddedFile, Rows]) -> tuple[int, int, str]:
        added, rows = item
        low = _lowest_seq(rows)
        if added.version is not None:
            return added.version, low, added.path
        before = bisect.bisect_left(lows, low)
        return (newest[before - 1] if before else -1), low, added.path

    return [row for _, rows in sorted(files, key=key) for row in rows]


def _check_summaries(table: str, summaries: dict[int, dict], by_commit: dict[tuple[int, str], Rows]) -> list[Finding]:
    """Each commit's rows against the chain summary its commitInfo recorded (files without one included)."""
    findings = []
    recorded = {(version, partition) for version, summary in summaries.items() for partition in summary}
    for version, partition in sorted(recorded | set(by_commit)):
        entry = summaries.get(version, {}).get(partition)
        rows = sorted(by_commit.get((version, partition), []), key=_seq)
        if entry is None:
            recorded_as = "recorded no rows here"
        elif [_seq(r) for r in rows] != list(range(entry["first"], entry["last"] + 1)) or (
            rows and rows[-1].get("row_hash") != entry["hash"]
        ):
            recorded_as = f"recorded chain_seq {entry['first']}..{entry['last']}"
        else:
            continue
        detail = f"commit {version} {recorded_as} but its files hold {len(rows)} rows"
        findings.append(Finding(table, partition, "log_entry_altered", detail))
    return findings


def verify_table(root: Path, table: str) -> list[Finding]:
    """Every finding for one table (an empty list: the table is intact)."""
    spec = TABLES[table]
    table_dir = root / table
    log = read_log(table, table_dir / "_delta_log")
    findings = log.findings
    by_partition: dict[str, list[tuple[AddedFile, Rows]]] = defaultdict(list)
    by_commit: dict[tuple[int, str], Rows] = defaultdict(list)
    for item in log.files:
        path = table_dir / item.path
        if not path.exists():
            source = "the checkpoint" if item.version is None else f"commit {item.version}"
            findings.append(Finding(table, item.partition, "data_file_missing", f"{item.path} (added by {source})"))
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
        by_partition[item.partition].append((item, rows))
        if item.version is not None:
            by_commit[(item.version, item.partition)].extend(rows)

    for partition, files in sorted(by_partition.items()):
        findings.extend(verify_partition(table, partition, _in_commit_order(files), spec.column_names, spec.key))
    findings.extend(_check_summaries(table, log.summaries, by_commit))

    keys = {row.get(spec.key) for files in by_partition.values() for _, rows in files for row in rows}
    referenced = {item.path for item in log.files}
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
    present = lake_tables(root)
    findings: list[Finding] = []
    for name in tables or present:
        if name not in present:
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
