"""The audit lake on disk: one append-only Delta table per `TableSpec` under a root directory.

Creating tables, reading what each already committed (app transaction versions and chain heads), and
committing a chained batch with its app transactions in one Delta commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, QueryBuilder, Transaction, write_deltalake

from auditlake.batching import TopicPartition, app_id
from auditlake.chain import ChainHead, partition_heads
from auditlake.tables import PARTITION_COLUMN, TABLES
from udfs.settings import load_settings

TABLE_CONFIG = {
    "delta.appendOnly": "true",
    # Keep the log (time travel, `audit verify`) for ten years; vacuum only removes unreferenced files.
    "delta.logRetentionDuration": "interval 3650 days",
    "delta.deletedFileRetentionDuration": "interval 7 days",
}
CHAIN_METADATA_KEY = "cuecard.chain"


def default_root() -> Path:
    """CUECARD_AUDIT_DIR, else audit/delta in the run dir (CUECARD_RUN_DIR, default .run)."""
    return load_settings().audit_dir.resolve()


def lake_tables(root: Path) -> list[str]:
    """The audit tables that exist under root (have a Delta log), in layout order."""
    return [name for name in TABLES if (root / name / "_delta_log").is_dir()]


def _plain(kind: pa.DataType) -> pa.DataType:
    """The same type with string/binary views replaced (pyarrow 16 cannot cast or write views)."""
    name = str(kind)
    if name == "string_view":
        return pa.string()
    if name == "binary_view":
        return pa.binary()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pa.list_(_plain(kind.value_type))
    return kind


def to_pyarrow(result: Any) -> pa.Table:
    """A pyarrow table from what deltalake returns (arro3 tables/readers), view types made plain."""
    table = pa.table(result.read_all() if hasattr(result, "read_all") else result)
    columns = []
    for f, column in zip(table.schema, table.columns, strict=True):
        plain = _plain(f.type)
        columns.append(column if plain == f.type else pa.array(column.to_pylist(), type=plain))
    return pa.table(columns, names=table.column_names)


class AuditStore:
    """The audit tables under `root` (call `open()` before use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tables: dict[str, DeltaTable] = {}

    def path(self, table: str) -> Path:
        """Directory of a table."""
        return self.root / table

    def open(self, *, create: bool = True) -> AuditStore:
        """Load every table, creating missing ones (append-only, partitioned by date) when `create`."""
        for name, spec in TABLES.items():
            path = self.path(name)
            if DeltaTable.is_deltatable(str(path)):
                self._tables[name] = DeltaTable(str(path))
            elif create:
                path.mkdir(parents=True, exist_ok=True)
                self._tables[name] = DeltaTable.create(
                    str(path),
                    spec.schema,
                    mode="ignore",
                    partition_by=[PARTITION_COLUMN],
                    name=name,
                    description=spec.doc,
                    configuration=TABLE_CONFIG,
                )
        return self

    def names(self) -> list[str]:
        """Tables that exist."""
        return list(self._tables)

    def table(self, name: str) -> DeltaTable:
        """The loaded DeltaTable of a name."""
        return self._tables[name]

    def committed(self, table: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Last committed offset per topic-partition (None: nothing yet), re-read from the table's log."""
        dt = self._tables[table]
        dt.update_incremental()
        return {tp: dt.transaction_version(app_id(table, *tp)) for tp in partitions}

    def heads(self, table: str) -> dict[str, ChainHead]:
        """The chain head of every date partition, from the data."""
        sql = (
            f"SELECT t.{PARTITION_COLUMN}, t.chain_seq, t.row_hash FROM t JOIN "
            f"(SELECT {PARTITION_COLUMN} AS d, max(chain_seq) AS m FROM t GROUP BY {PARTITION_COLUMN}) h "
            f"ON t.{PARTITION_COLUMN} = h.d AND t.chain_seq = h.m"
        )
        rows = to_pyarrow(QueryBuilder().register("t", self._tables[table]).execute(sql)).to_pylist()
        return partition_heads(rows)

    def commit(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        transactions: Mapping[TopicPartition, int],
        chain: Mapping[str, Mapping[str, Any]],
    ) -> int:
        """Append chained rows with their app transactions and chain summary in one commit; returns the version."""
        spec = TABLES[table]
        data = pa.Table.from_pylist(list(rows), schema=spec.schema)
        properties = CommitProperties(
            custom_metadata={CHAIN_METADATA_KEY: json.dumps(chain, sort_keys=True)},
            app_transactions=[Transaction(app_id(table, *tp), version) for tp, version in sorted(transactions.items())],
        )
        dt = self._tables[table]
        write_deltalake(dt, data, mode="append", partition_by=[PARTITION_COLUMN], commit_properties=properties)
        dt.update_incremental()
        return dt.version()
