import re
from dataclasses import fields
from pathlib import Path

import pytest

from cuecard.cli import env_help, env_markdown
from udfs.settings import Settings, SettingsError, env_name, load_settings, reference, settings_env

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_valid_and_loopback():
    settings = load_settings({})
    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert settings.flink_rest_url == "http://127.0.0.1:18081"
    assert settings.suggestions_delivery == "at-least-once"


def test_env_vars_override_defaults():
    settings = load_settings(
        {
            "CUECARD_KAFKA_PORT": "29092",
            "CUECARD_SUGGESTIONS_DELIVERY": "Exactly-Once",
            "CUECARD_CHANNEL_BUDGET_MS": "chat=12,voice=8",
            "CUECARD_RUN_DIR": "/tmp/x",
        }
    )
    assert settings.kafka_port == 29092
    assert settings.suggestions_delivery == "exactly-once"
    assert settings.budgets == {"chat": 12.0, "voice": 8.0}
    assert settings.run_dir == Path("/tmp/x")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CUECARD_KAFKA_PORT": "abc"}, "CUECARD_KAFKA_PORT='abc' is not a whole number"),
        ({"CUECARD_KAFKA_PORT": "80"}, "CUECARD_KAFKA_PORT=80 is out of range"),
        ({"CUECARD_FLINK_REST_PORT": "19092"}, "ports must differ"),
        ({"CUECARD_SUGGESTIONS_DELIVERY": "sometimes"}, "is not one of"),
        ({"CUECARD_PARALLELISM": "0"}, "CUECARD_PARALLELISM=0 must be a positive"),
        ({"CUECARD_CHANNEL_BUDGET_MS": "chat:30"}, "is not like"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(env, fragment):
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_settings_env_round_trips():
    original = Settings(kafka_port=20001, suggestions_delivery="exactly-once", channel_budget_ms=(("chat", 7.5),))
    assert load_settings(settings_env(original)) == original


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        load_settings({}).kafka_port = 1  # type: ignore[misc]


def test_deep_tier_switch():
    assert load_settings({"CUECARD_DEEP_TIER": "off"}).deep_tier is False
    assert load_settings({}).deep_tier is True
    with pytest.raises(SettingsError, match="CUECARD_DEEP_TIER='maybe' is not a yes/no value"):
        load_settings({"CUECARD_DEEP_TIER": "maybe"})


def test_paths_follow_the_run_and_cache_dirs_unless_set(tmp_path: Path) -> None:
    settings = load_settings({"CUECARD_RUN_DIR": str(tmp_path / "run"), "CUECARD_CACHE_DIR": str(tmp_path / "c")})
    assert settings.audit_dir == tmp_path / "run" / "audit" / "delta"
    assert settings.audit_docs_dir == tmp_path / "run" / "audit" / "data_docs"
    assert settings.lineage_file == tmp_path / "run" / "lineage" / "events.jsonl"
    assert settings.models_dir == tmp_path / "c" / "models"
    moved = settings.with_overrides(run_dir=tmp_path / "other")
    assert moved.audit_dir == tmp_path / "other" / "audit" / "delta"
    assert moved.models_dir == settings.models_dir
    pinned = load_settings({"CUECARD_AUDIT_DIR": str(tmp_path / "lake")})
    assert pinned.with_overrides(run_dir=tmp_path / "other").audit_dir == tmp_path / "lake"
    assert load_settings(settings_env(moved)) == moved


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CUECARD_AUDIT_BATCH_RECORDS": "0"}, "CUECARD_AUDIT_BATCH_RECORDS=0 must be a positive whole number"),
        ({"CUECARD_AUDIT_BATCH_SECONDS": "soon"}, "CUECARD_AUDIT_BATCH_SECONDS='soon' is not a number"),
        ({"CUECARD_AUDIT_BATCH_SECONDS": "0"}, "CUECARD_AUDIT_BATCH_SECONDS=0.0 must be more than 0"),
        ({"CUECARD_AUDIT_QUALITY": "perhaps"}, "CUECARD_AUDIT_QUALITY='perhaps' is not a yes/no value"),
        ({"CUECARD_CONVERSATIONS": "-2"}, "CUECARD_CONVERSATIONS=-2 is negative"),
        ({"CUECARD_MALFORMED_EVERY": "x"}, "CUECARD_MALFORMED_EVERY='x' is not a whole number"),
        ({"CUECARD_CHANNEL_BUDGET_MS": "chat=0"}, "CUECARD_CHANNEL_BUDGET_MS=chat=0 has a budget <= 0"),
        ({"CUECARD_SUGGESTIONS_DELIVERY": "twice"}, "set it to one of them"),
    ],
)
def test_new_fields_are_validated_with_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_writer_and_generator_settings_from_env() -> None:
    settings = load_settings(
        {"CUECARD_AUDIT_BATCH_RECORDS": "50", "CUECARD_AUDIT_BATCH_SECONDS": "0.5", "CUECARD_AUDIT_QUALITY": "0"}
    )
    assert (settings.audit_batch_records, settings.audit_batch_seconds, settings.audit_quality) == (50, 0.5, False)
    assert load_settings({"CUECARD_SEED": "3"}).generator_seed == 3
    assert env_name("generator_seed") == "CUECARD_SEED" and env_name("kafka_port") == "CUECARD_KAFKA_PORT"


def test_connector_jar_is_found_or_named_with_the_fix(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    with pytest.raises(SettingsError, match="connector jar missing in .*; run `make jars`"):
        _ = settings.connector_jar
    (tmp_path / "jars" / "flink").mkdir(parents=True)
    jar = tmp_path / "jars" / "flink" / "flink-sql-connector-kafka-4.0.1-2.0.jar"
    jar.touch()
    assert settings.connector_jar == jar


def test_every_cuecard_variable_is_a_setting() -> None:
    read = set()
    for package in ("cuecard", "jobs", "udfs", "auditlake", "lineage", "models"):
        for path in (ROOT / package).rglob("*.py"):
            read.update(
                re.findall(r"environ(?:\.get)?\(\s*[\"'](CUECARD_\w+)|getenv\(\s*[\"'](CUECARD_\w+)", path.read_text())
            )
    assert {name for pair in read for name in pair if name} == set()  # no module reads a CUECARD_* var itself
    documented = {row.env for row in reference()}
    assert {env_name(f.name) for f in fields(Settings)} == documented


def test_help_and_readme_list_every_setting() -> None:
    help_text = env_help()  # the epilog of `cuecard --help`
    for row in reference():
        assert re.search(rf"{row.env}\s+{re.escape(row.default)}\s+{re.escape(row.meaning)}", help_text), row.env
    readme = (ROOT / "README.md").read_text()
    assert env_markdown() in readme, "the README's Configuration table is stale: paste cuecard.cli.env_markdown()"
