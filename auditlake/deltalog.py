"""A Delta table's log as `audit verify` reads it: every data file with the commit that added it.

Readers start from the newest checkpoint, whose files come in no commit order, so row order cannot be
taken from it. Verify replays every commit file from version 0 instead (the tables keep their log for
3650 days, so none expires) and checks the newest checkpoint against the commits it covers: a checkpoint
that omits or adds files changes what readers see without touching a commit file.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from auditlake.chain import Finding
from auditlake.store import CHAIN_METADATA_KEY
from auditlake.tables import PARTITION_COLUMN

_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT_FILE = re.compile(r"^(\d{20})\.checkpoint(\.\d+\.\d+)?\.parquet$")


@dataclass(frozen=True)
class AddedFile:
    """A data file the log added: commit version (None when only a checkpoint lists it), path, partition, size."""

    version: int | None
    path: str
    partition: str
    size: int | None


@dataclass
class DeltaLog:
    """What verify takes from a log: added files in commit order, each commit's chain summary, log findings."""

    files: list[AddedFile]
    summaries: dict[int, dict]
    findings: list[Finding]


def _runs(versions: list[int]) -> list[tuple[int, int]]:
    """Sorted versions as (first, last) runs, so a gap of thousands of commits is one finding."""
    runs: list[list[int]] = []
    for v in versions:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return [(first, last) for first, last in runs]


def _read_commit(table: str, path: Path, version: int, log: DeltaLog) -> None:
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        try:
            action = json.loads(line)
            if "add" in action:
                add = action["add"]
                partition = str((add.get("partitionValues") or {}).get(PARTITION_COLUMN))
                log.files.append(AddedFile(version, add["path"], partition, add.get("size")))
            elif "remove" in action:
                removed = action["remove"].get("path")
                log.findings.append(Finding(table, "", "log_entry_altered", f"commit {version} removes {removed}"))
            elif "commitInfo" in action and CHAIN_METADATA_KEY in action["commitInfo"]:
                log.summaries[version] = json.loads(action["commitInfo"][CHAIN_METADATA_KEY])
        except (ValueError, TypeError, KeyError, AttributeError):
            detail = f"commit {version} line {line_no} is not a valid Delta action"
            log.findings.append(Finding(table, "", "log_entry_altered", detail))


def _check_checkpoint(table: str, version: int, parts: list[Path], log: DeltaLog, *, gap: bool) -> None:
    """Compare a checkpoint with the commits up to its version; add the files only it lists (versionless)."""

    def report(detail: str) -> None:
        log.findings.append(Finding(table, "", "log_entry_altered", f"checkpoint {version} {detail}"))

    listed: dict[str, AddedFile] = {}
    for part in parts:
        try:
            adds = pq.read_table(part, columns=["add.path", "add.size", "add.partitionValues"]).to_pylist()
            removed = [p for p in pq.read_table(part, columns=["remove.path"]).column(0).to_pylist() if p]
        except (OSError, ValueError, KeyError) as err:
            report(f"is unreadable ({part.name}: {err})")
            return
        if removed:
            report(f"removes {len(removed)} files, e.g. {removed[0]}")
        for add in adds:
            if add["path"] is not None:
                values = dict(add["partitionValues"] or {})
                listed[add["path"]] = AddedFile(None, add["path"], str(values.get(PARTITION_COLUMN)), add["size"])
    committed = {f.path for f in log.files if f.version is not None and f.version <= version}
    omitted = sorted(committed - set(listed))
    if omitted:
        report(f"omits {len(omitted)} files its commits added, so readers miss their rows, e.g. {omitted[0]}")
    extra = sorted(set(listed) - committed)
    if extra and not gap:  # with commit files missing, these are most likely theirs: that is reported already
        report(f"lists {len(extra)} files no commit up to it added, e.g. {extra[0]}")
    known = {f.path for f in log.files}
    log.files.extend(listed[p] for p in extra if p not in known)


def read_log(table: str, log_dir: Path) -> DeltaLog:
    """Every commit file of a table in version order, then its newest checkpoint cross-checked."""
    log = DeltaLog([], {}, [])
    commits: dict[int, Path] = {}
    checkpoints: dict[int, list[Path]] = defaultdict(list)
    for path in sorted(log_dir.iterdir()):
        if m := _COMMIT_FILE.match(path.name):
            commits[int(m.group(1))] = path
        elif m := _CHECKPOINT_FILE.match(path.name):
            checkpoints[int(m.group(1))].append(path)
    newest = max([*commits, *checkpoints], default=-1)
    missing = sorted(set(range(newest + 1)) - set(commits))
    for first, last in _runs(missing):
        gone = f"commit {first} is" if first == last else f"commits {first}..{last} are"
        log.findings.append(Finding(table, "", "log_entry_missing", f"{gone} missing from _delta_log"))
    for version in sorted(commits):
        _read_commit(table, commits[version], version, log)
    if checkpoints:
        version = max(checkpoints)
        gap = bool(missing) and missing[0] <= version
        _check_checkpoint(table, version, checkpoints[version], log, gap=gap)
    return log
