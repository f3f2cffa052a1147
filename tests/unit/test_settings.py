from pathlib import Path

import pytest

from cuecard.settings import Settings, SettingsError, load_settings, settings_env

pytestmark = pytest.mark.unit


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
