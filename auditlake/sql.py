"""Auditors' named queries: header parsing, safe parameter binding and the read-only check.

A named query is a `.sql` file whose header comments declare it:

    -- name: why_suggestion
    -- description: why suggestion X was made ...
    -- param suggestion_id (str): the suggestion to explain
    -- param as_of_version (int, optional): read the tables as of this Delta version

Values are bound where `:name` appears (outside string literals) as SQL literals, quoted and escaped by
type; a `table` parameter replaces `{name}` and must name an audit table. `as_of_version` and
`as_of_timestamp` are not substituted: they select the tables' version (time travel).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

PARAM_TYPES = ("str", "int", "float", "bool", "table", "timestamp")
TIME_TRAVEL_PARAMS = ("as_of_version", "as_of_timestamp")
_HEADER = re.compile(r"^--\s*(name|description):\s*(.*)$")
_PARAM = re.compile(r"^--\s*param\s+([A-Za-z_]\w*)\s*\(\s*(\w+)\s*(,\s*optional\s*)?\)\s*:\s*(.*)$")
# A quoted literal (kept as is), a quoted identifier, a comment, or a :placeholder not part of a :: cast.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|(?<![:\w]):([A-Za-z_]\w*)", re.S)
_READ_ONLY_START = ("select", "with", "values")


class QueryError(ValueError):
    """A query cannot run: unknown name or parameter, bad value, or not read-only. One line."""


@dataclass(frozen=True)
class Param:
    """A declared parameter of a named query."""

    name: str
    type: str
    optional: bool
    description: str


@dataclass(frozen=True)
class NamedQuery:
    """A named query: its name, description, parameters and SQL text (header included)."""

    name: str
    description: str
    params: tuple[Param, ...]
    sql: str


@dataclass(frozen=True)
class TimeTravel:
    """Which version of the tables to read: a Delta version, a timestamp, or the latest (both None)."""

    version: int | None = None
    timestamp: datetime | None = None


def parse_query(name: str, text: str) -> NamedQuery:
    """Parse a named query file's header (lines starting with --) and keep its SQL."""
    meta = {"name": name, "description": ""}
    params = []
    last = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        if match := _PARAM.match(stripped):
            pname, ptype, optional, desc = match.groups()
            if ptype not in PARAM_TYPES:
                raise QueryError(f"query {name}: parameter {pname} has type {ptype!r}, not one of {PARAM_TYPES}")
            params.append(Param(pname, ptype, optional=bool(optional), description=desc.strip()))
            last = ""
        elif match := _HEADER.match(stripped):
            last = match.group(1)
            meta[last] = match.group(2).strip()
        elif last == "description":  # a continuation line of the description
            meta[last] += " " + stripped.lstrip("-").strip()
    return NamedQuery(meta["name"], meta["description"], tuple(params), text)


def literal(value: str, kind: str) -> str:
    """A command-line value as a SQL literal of the declared type (strings quoted, quotes doubled)."""
    try:
        if kind == "int":
            return str(int(value))
        if kind == "float":
            return repr(float(value))
        if kind == "bool":
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return "TRUE" if lowered in ("true", "1", "yes") else "FALSE"
        if kind == "timestamp":
            return f"TIMESTAMP '{parse_timestamp(value).isoformat()}'"
    except ValueError:
        raise QueryError(f"{value!r} is not a valid {kind}") from None
    return "'" + value.replace("'", "''") + "'"


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 (Z allowed) to a datetime; naive means UTC."""
    from datetime import UTC

    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bind(sql: str, params: Iterable[Param], values: Mapping[str, str], tables: Iterable[str]) -> tuple[str, TimeTravel]:
    """Substitute parameter values into the SQL; returns it with the time travel the values ask for."""
    declared = {p.name: p for p in params}
    for name in TIME_TRAVEL_PARAMS:
        declared.setdefault(
            name, Param(name, "int" if name == "as_of_version" else "timestamp", optional=True, description="")
        )
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise QueryError(f"unknown parameter(s) {unknown}; this query takes {sorted(declared)}")
    missing = sorted(p.name for p in declared.values() if not p.optional and p.name not in values)
    if missing:
        raise QueryError(f"missing parameter(s) {missing}; pass them as --param NAME=VALUE")
    known_tables = set(tables)
    for param in declared.values():
        if param.type == "table" and param.name in values:
            if values[param.name] not in known_tables:
                raise QueryError(f"{param.name}={values[param.name]!r} is not one of {sorted(known_tables)}")
            sql = sql.replace("{" + param.name + "}", values[param.name])

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        if name not in declared or name in TIME_TRAVEL_PARAMS:
            raise QueryError(f"the SQL uses :{name}, which is not a declared parameter")
        if name not in values:
            return "NULL"
        return literal(values[name], declared[name].type)

    bound = _TOKENS.sub(substitute, sql)
    try:
        travel = TimeTravel(
            version=int(values["as_of_version"]) if "as_of_version" in values else None,
            timestamp=parse_timestamp(values["as_of_timestamp"]) if "as_of_timestamp" in values else None,
        )
    except ValueError as err:
        raise QueryError(f"bad time travel value: {err}") from None
    if travel.version is not None and travel.timestamp is not None:
        raise QueryError("give as_of_version or as_of_timestamp, not both")
    return bound, travel


def strip_comments(sql: str) -> str:
    """The SQL without comments (string literals untouched)."""

    def keep(match: re.Match[str]) -> str:
        text = match.group(0)
        return " " if text.startswith(("--", "/*")) else text

    return _TOKENS.sub(keep, sql)


def check_read_only(sql: str) -> str:
    """The single statement of the SQL if it is a query (SELECT/WITH/VALUES); QueryError otherwise."""
    body = strip_comments(sql).strip().rstrip(";").strip()
    outside_literals = re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", body)
    if ";" in outside_literals:
        raise QueryError("only one statement is allowed; remove the ';' between statements")
    first = (body.split(None, 1) or [""])[0].lower()
    if first not in _READ_ONLY_START:
        raise QueryError(f"only read-only queries (SELECT/WITH) are allowed, got {first.upper() or 'nothing'}")
    return body
