"""Flink SQL DDL and markdown docs rendered from the JSON Schemas, so the schema files stay the one truth.

`sql/generate_ddl.py` writes the output to `sql/ddl/`; a unit test fails when the checked-in files
differ from what this module renders. JSON types map to Flink SQL as: string -> STRING, integer ->
BIGINT, number -> DOUBLE, boolean -> BOOLEAN, object with properties -> ROW<...>, object of values
-> MAP<STRING, ...>, array -> ARRAY<...>; every column carries its schema description as COMMENT.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from udfs.schema_files import SCHEMA_NAMES, load_schema
from udfs.settings import Settings
from udfs.topics import topic_of_schema

DEFAULT_BOOTSTRAP = Settings().bootstrap_servers  # the local stack's broker with the default settings
_SCALARS = {"string": "STRING", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def quote(text: str) -> str:
    """A Flink SQL string literal: in single quotes, a quote inside doubled (`it's` -> `'it''s'`)."""
    return "'" + text.replace("'", "''") + "'"


def render_options(options: Mapping[str, str]) -> str:
    """The `WITH (...)` block of a CREATE TABLE, one `'key' = 'value'` per line, keys and values quoted."""
    body = ",\n".join(f"  {quote(key)} = {quote(value)}" for key, value in options.items())
    return f"WITH (\n{body}\n)"


def _json_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        kind = non_null[0] if len(non_null) == 1 else "string"
    if kind is None and "enum" in schema:
        kind = "string"
    return str(kind)


def sql_type(schema: Mapping[str, Any]) -> str:
    """The Flink SQL type of a JSON Schema node."""
    kind = _json_type(schema)
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return f"ARRAY<{sql_type(schema.get('items', {'type': 'string'}))}>"
    if kind == "object":
        props = schema.get("properties")
        if props:
            fields = ", ".join(f"`{name}` {sql_type(sub)}" for name, sub in props.items())
            return f"ROW<{fields}>"
        values = schema.get("additionalProperties")
        return f"MAP<STRING, {sql_type(values) if isinstance(values, dict) else 'STRING'}>"
    raise ValueError(f"no Flink SQL type for JSON type {kind!r}")


def table_name(topic: str) -> str:
    """The SQL table of a topic: dots become underscores (coaching.audit -> coaching_audit)."""
    return topic.replace(".", "_").replace("-", "_")


def render_ddl(name: str, bootstrap: str = DEFAULT_BOOTSTRAP) -> str:
    """CREATE TABLE for one schema's topic, value columns first, then Kafka metadata columns."""
    schema = load_schema(name)
    registered = topic_of_schema(name)
    topic = registered.name
    lines = [f"-- Generated from udfs/schemas/{name}.v1.json by sql/generate_ddl.py; do not edit by hand."]
    lines.append(f"CREATE TABLE `{table_name(topic)}` (")
    columns = [
        f"  `{field}` {sql_type(sub)} COMMENT {quote(sub['description'])}"
        for field, sub in schema["properties"].items()
    ]
    columns += [
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL COMMENT 'Kafka partition of the record.'",
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL COMMENT 'Kafka offset of the record.'",
        "  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' COMMENT 'Kafka timestamp of the record.'",
    ]
    lines.append(",\n".join(columns))
    lines.append(f") COMMENT {quote(schema['description'])}")
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": bootstrap,
        "properties.group.id": f"cuecard-sql-{table_name(topic)}",
        "scan.startup.mode": "earliest-offset",
        "format": "json",
        "json.fail-on-missing-field": "false",
        "json.ignore-parse-errors": "true",
    }
    if registered.transactional:
        # Written in Kafka transactions: read only what the checkpoints committed.
        options["properties.isolation.level"] = "read_committed"
    lines.append(render_options(options) + ";")
    return "\n".join(lines) + "\n"


def _doc_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "string")
    text = " \\| ".join(kind) if isinstance(kind, list) else str(kind)
    if "enum" in schema:
        text += ": " + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None)
    if "const" in schema:
        text += f" = {schema['const']}"
    return text


def render_docs() -> str:
    """Markdown reference of every schema: one table per schema, one row per field."""
    out = [
        "# Record schemas",
        "",
        "Generated from `udfs/schemas/*.v1.json` by `sql/generate_ddl.py`; do not edit by hand.",
        "The same files drive validation (`udfs/validation.py`) and the Flink SQL DDL in this folder.",
    ]
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        required = set(schema.get("required", ()))
        topic = topic_of_schema(name).name
        out += ["", f"## {schema['title']} (`{name}.v1`)", "", schema["description"], ""]
        out.append(f"Topic `{topic}`, table `{table_name(topic)}` (`{table_name(topic)}.sql`).")
        out += ["", "| field | type | required | description |", "|---|---|---|---|"]
        for field, sub in schema["properties"].items():
            description = sub["description"].replace("|", "\\|")
            out.append(f"| `{field}` | {_doc_type(sub)} | {'yes' if field in required else 'no'} | {description} |")
    return "\n".join(out) + "\n"


def rendered_files() -> dict[str, str]:
    """File name (under sql/ddl/) -> content, for every schema plus the README."""
    files = {f"{table_name(topic_of_schema(name).name)}.sql": render_ddl(name) for name in SCHEMA_NAMES}
    files["README.md"] = render_docs()
    return files


def write_all(out_dir: Path) -> list[Path]:
    """Write every rendered file into `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, content in rendered_files().items():
        path = out_dir / file_name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
