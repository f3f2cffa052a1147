from pathlib import Path

from udfs.ddl import quote, render_options, rendered_files, sql_type, table_name
from udfs.schema_files import SCHEMA_NAMES
from udfs.topics import TOPICS

DDL_DIR = Path(__file__).resolve().parents[2] / "sql" / "ddl"


def test_checked_in_ddl_and_docs_equal_the_generated_ones() -> None:
    files = rendered_files()
    assert len(files) == len(SCHEMA_NAMES) + 1
    for name, content in files.items():
        path = DDL_DIR / name
        assert path.exists(), f"{name} missing: run .venv/bin/python sql/generate_ddl.py"
        assert path.read_text(encoding="utf-8") == content, f"{name} is stale: run .venv/bin/python sql/generate_ddl.py"


def test_type_mapping() -> None:
    assert sql_type({"type": "string"}) == "STRING"
    assert sql_type({"type": ["string", "null"]}) == "STRING"
    assert sql_type({"type": "integer"}) == "BIGINT"
    assert sql_type({"type": "array", "items": {"type": "number"}}) == "ARRAY<DOUBLE>"
    assert sql_type({"type": "object", "additionalProperties": {"type": "string"}}) == "MAP<STRING, STRING>"
    assert sql_type({"type": "object", "properties": {"a": {"type": "boolean"}}}) == "ROW<`a` BOOLEAN>"
    assert table_name("coaching.audit") == "coaching_audit"


def test_every_column_has_a_comment_and_audit_reads_committed() -> None:
    files = rendered_files()
    for name, content in files.items():
        if name.endswith(".sql"):
            columns = [line for line in content.splitlines() if line.startswith("  `")]
            assert columns and all(" COMMENT '" in line for line in columns), name
    assert "'properties.isolation.level' = 'read_committed'" in files["coaching_audit.sql"]


def test_audit_table_reference_is_current():
    from auditlake.tables import render_tables_markdown

    checked_in = (Path(__file__).resolve().parents[2] / "sql" / "audit_tables.md").read_text()
    assert checked_in == render_tables_markdown(), "run `python -m auditlake.tables` and commit sql/audit_tables.md"


def test_render_options_quotes_keys_and_values() -> None:
    block = render_options({"connector": "kafka", "properties.sasl.jaas.config": "user='it''s' pass=x"})
    assert block == ("WITH (\n  'connector' = 'kafka',\n  'properties.sasl.jaas.config' = 'user=''it''''s'' pass=x'\n)")
    assert quote("it's") == "'it''s'"


def test_generated_tables_use_the_registry() -> None:
    files = rendered_files()
    for topic in TOPICS:
        content = files[f"{table_name(topic.name)}.sql"]
        assert f"'topic' = '{topic.name}'" in content
        assert ("'properties.isolation.level' = 'read_committed'" in content) == topic.transactional
