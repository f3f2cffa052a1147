"""Running auditors' queries (named ones from sql/queries/ or ad-hoc SQL) over the Delta tables, read-only.

The engine is DataFusion inside `deltalake` (QueryBuilder) with every audit table registered under its
name, optionally as of a Delta version or a timestamp. Only single SELECT/WITH statements run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from deltalake import DeltaTable, QueryBuilder

from auditlake.sql import (
    TIME_TRAVEL_PARAMS,
    NamedQuery,
    Param,
    QueryError,
    TimeTravel,
    bind,
    check_read_only,
    parse_query,
)
from auditlake.store import to_pyarrow
from auditlake.tables import TABLES
from udfs.settings import PROJECT_ROOT

QUERIES_DIR = PROJECT_ROOT / "sql" / "queries"


def named_queries(folder: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Every named query in the folder, by name (the file stem)."""
    return {path.stem: parse_query(path.stem, path.read_text()) for path in sorted(folder.glob("*.sql"))}


def _load(path: Path, travel: TimeTravel) -> DeltaTable:
    table = DeltaTable(str(path))
    if travel.version is not None:
        table.load_as_version(travel.version)
    elif travel.timestamp is not None:
        table.load_as_version(travel.timestamp)
    return table


def run_sql(root: Path, sql: str, travel: TimeTravel | None = None) -> pa.Table:
    """Run one read-only statement with the audit tables it names registered; returns the result.

    Time travel applies to each of those tables (a version number is per table: use it with one table).
    """
    statement = check_read_only(sql)
    travel = travel or TimeTravel()
    builder = QueryBuilder()
    for name in TABLES:
        path = root / name
        if re.search(rf"\b{name}\b", statement) and DeltaTable.is_deltatable(str(path)):
            try:
                builder.register(name, _load(path, travel))
            except Exception as err:  # deltalake raises its own error types for a version it cannot find
                raise QueryError(f"cannot load {name} at {travel}: {err}") from None
    try:
        return to_pyarrow(builder.execute(statement))
    except Exception as err:  # DataFusion planning/execution errors: report them as one line
        raise QueryError(str(err).splitlines()[0]) from None


def run_named(
    root: Path, name: str, values: Mapping[str, str], queries: Mapping[str, NamedQuery] | None = None
) -> pa.Table:
    """Bind and run a named query."""
    available = named_queries() if queries is None else queries
    if name not in available:
        raise QueryError(f"no named query {name!r}; available: {', '.join(sorted(available))}")
    query = available[name]
    sql, travel = bind(query.sql, query.params, values, TABLES)
    return run_sql(root, sql, travel)


def run_adhoc(root: Path, sql: str, values: Mapping[str, str]) -> pa.Table:
    """Run ad-hoc SQL: each --param binds a :name placeholder as a string; as_of_* parameters time-travel."""
    declared = [Param(name, "str", optional=True, description="") for name in values if name not in TIME_TRAVEL_PARAMS]
    bound, travel = bind(sql, declared, values, TABLES)
    return run_sql(root, bound, travel)


def _cell(value: object, width: int) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(table: pa.Table, max_width: int = 48) -> str:
    """An aligned text table with a header row and a row count (long cells cut at max_width)."""
    names = table.column_names
    rows = [[_cell(v, max_width) for v in row.values()] for row in table.to_pylist()]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def export(table: pa.Table, path: Path, fmt: str) -> None:
    """Write a result as CSV (lists and maps as text) or Parquet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    columns = [
        pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
        if pa.types.is_nested(column.type)
        else column
        for column in table.columns
    ]
    pacsv.write_csv(pa.table(columns, names=table.column_names), path)
