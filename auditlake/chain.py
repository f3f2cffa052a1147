"""Tamper evidence for audit rows: a sha256 chain per table and date partition, and its verification.

Each row's `row_hash` covers every other column, including `chain_seq` and `prev_hash` (the previous
row's hash), so changing, deleting or reordering a row breaks the chain from that row on. Values are
canonicalised (timestamps as epoch microseconds) so a row hashes the same before and after Parquet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainHead:
    """The last row of a partition's chain: its sequence number and hash."""

    seq: int
    row_hash: str


@dataclass(frozen=True)
class Finding:
    """One verification problem: where, what kind (changed/deleted/reordered/log/...), and details."""

    table: str
    partition: str
    kind: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.table}/{self.partition}" if self.partition else self.table
        return f"{where}: {self.kind}: {self.detail}"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return round(value.timestamp() * 1_000_000)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def row_digest(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    """sha256 hex over the row's columns (all but row_hash) in canonical JSON."""
    body = {name: _canonical(row.get(name)) for name in columns if name != "row_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def chain_rows(
    rows: Iterable[MutableMapping[str, Any]],
    heads: Mapping[str, ChainHead],
    columns: Sequence[str],
    partition_column: str = "date",
) -> dict[str, ChainHead]:
    """Append rows to their partitions' chains in order (sets chain_seq/prev_hash/row_hash); returns new heads."""
    new_heads = dict(heads)
    for row in rows:
        part = str(row[partition_column])
        head = new_heads.get(part)
        row["chain_seq"] = head.seq + 1 if head else 0
        row["prev_hash"] = head.row_hash if head else GENESIS
        row["row_hash"] = row_digest(row, columns)
        new_heads[part] = ChainHead(row["chain_seq"], row["row_hash"])
    return new_heads


def verify_partition(
    table: str,
    partition: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    key: str,
) -> list[Finding]:
    """Check one partition's rows, given in commit order (log version, file, row): every problem found."""
    findings: list[Finding] = []

    def report(kind: str, detail: str) -> None:
        findings.append(Finding(table, partition, kind, detail))

    last_seen = -1
    seen: set[int] = set()
    for row in rows:
        seq = row.get("chain_seq")
        if not isinstance(seq, int):
            continue
        if seq <= last_seen and seq not in seen:  # a second copy is reported as duplicated, not also here
            report("reordered", f"chain_seq {seq} ({key}={row.get(key)}) stored after chain_seq {last_seen}")
        last_seen = max(last_seen, seq)
        seen.add(seq)

    by_seq: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        seq = row.get("chain_seq")
        if not isinstance(seq, int):
            report("changed", f"row {key}={row.get(key)} has no chain_seq")
        elif seq in by_seq:
            report("duplicated", f"chain_seq {seq} appears more than once")
        else:
            by_seq[seq] = row

    expected_prev = GENESIS
    for seq in range(max(by_seq, default=-1) + 1):
        found = by_seq.get(seq)
        if found is None:
            report("deleted", f"chain_seq {seq} is missing")
            expected_prev = ""
            continue
        row = found
        if row_digest(row, columns) != row.get("row_hash"):
            report("changed", f"chain_seq {seq} ({key}={row.get(key)}) does not match its row_hash")
        if expected_prev and row.get("prev_hash") != expected_prev:
            report("broken_link", f"chain_seq {seq} does not point at the row_hash of chain_seq {seq - 1}")
        expected_prev = str(row.get("row_hash"))
    return findings


def partition_heads(rows: Iterable[Mapping[str, Any]], partition_column: str = "date") -> dict[str, ChainHead]:
    """The head (highest chain_seq) of each partition among rows carrying date, chain_seq and row_hash."""
    heads: dict[str, ChainHead] = {}
    for row in rows:
        part, seq = str(row[partition_column]), int(row["chain_seq"])
        if part not in heads or seq > heads[part].seq:
            heads[part] = ChainHead(seq, str(row["row_hash"]))
    return heads
