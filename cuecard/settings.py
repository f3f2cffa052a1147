"""The one settings object of cuecard: frozen, typed, read from `CUECARD_*` env vars, validated at start-up.

Every command line option that overrides a setting names its env-var form in `--help`, and a bad value
stops the program with one line that says what is wrong and how to fix it (`SettingsError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DELIVERY_MODES = ("at-least-once", "exactly-once")

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration value is wrong; the message is one line naming the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    """Everything a cuecard process needs to know about where things are and how to deliver."""

    run_dir: Path = PROJECT_ROOT / ".run"
    cache_dir: Path = PROJECT_ROOT / ".cache"
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    flink_rest_port: int = 18081
    flink_rpc_port: int = 16123
    topic_partitions: int = 2
    parallelism: int = 1
    checkpoint_interval_ms: int = 2000
    suggestions_delivery: str = "at-least-once"
    replay_name: str = ""
    intent_model: str = ""
    channel_budget_ms: tuple[tuple[str, float], ...] = (("chat", 30.0), ("voice", 20.0), ("email", 45.0))
    deep_tier: bool = True
    max_event_bytes: int = 64 * 1024
    conversation_ttl_minutes: int = 60

    @property
    def bootstrap_servers(self) -> str:
        """The broker address clients use (loopback unless deployed with compose)."""
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def job_name(self) -> str:
        """The Flink job name: the live coaching job, or a named replay of history beside it."""
        return f"cuecard-replay-{self.replay_name}" if self.replay_name else "cuecard-coaching"

    def output_topic(self, topic: str) -> str:
        """Where an output goes: the contract topic live, `replay.<name>.<topic>` in a replay."""
        return f"replay.{self.replay_name}.{topic}" if self.replay_name else topic

    @property
    def flink_rest_url(self) -> str:
        """The JobManager's REST endpoint (also the web UI)."""
        return f"http://127.0.0.1:{self.flink_rest_port}"

    @property
    def jars_dir(self) -> Path:
        """Where `make jars` put the broker and connector jars."""
        return self.cache_dir / "jars"

    @property
    def models_dir(self) -> Path:
        """Where the model build puts ONNX artifacts and the registry it produced."""
        return Path(os.environ.get("CUECARD_MODELS_DIR", self.cache_dir / "models"))

    @property
    def budgets(self) -> dict[str, float]:
        """Per-channel deep-tier latency budget in milliseconds."""
        return dict(self.channel_budget_ms)

    def validate(self) -> Settings:
        """Check cross-field rules; returns self so it chains after construction."""
        ports = {
            "CUECARD_KAFKA_PORT": self.kafka_port,
            "CUECARD_KAFKA_CONTROLLER_PORT": self.kafka_controller_port,
            "CUECARD_FLINK_REST_PORT": self.flink_rest_port,
            "CUECARD_FLINK_RPC_PORT": self.flink_rpc_port,
        }
        for name, port in ports.items():
            if not 1024 <= port <= 65535:
                raise SettingsError(f"{name}={port} is out of range; set it to a free port in 1024-65535")
        if len(set(ports.values())) != len(ports):
            raise SettingsError(f"ports must differ, got {ports}; give each CUECARD_*_PORT its own value")
        if self.suggestions_delivery not in DELIVERY_MODES:
            raise SettingsError(
                f"CUECARD_SUGGESTIONS_DELIVERY={self.suggestions_delivery!r} is not one of {DELIVERY_MODES}"
            )
        for name, value in (
            ("CUECARD_TOPIC_PARTITIONS", self.topic_partitions),
            ("CUECARD_PARALLELISM", self.parallelism),
            ("CUECARD_CHECKPOINT_INTERVAL_MS", self.checkpoint_interval_ms),
            ("CUECARD_MAX_EVENT_BYTES", self.max_event_bytes),
            ("CUECARD_CONVERSATION_TTL_MINUTES", self.conversation_ttl_minutes),
        ):
            if value < 1:
                raise SettingsError(f"{name}={value} must be a positive whole number")
        if self.replay_name and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", self.replay_name):
            raise SettingsError(
                f"CUECARD_REPLAY_NAME={self.replay_name!r} is not a short name; use lowercase letters, digits and -"
            )
        if self.intent_model and not re.fullmatch(r"intent@[\w.-]+", self.intent_model):
            raise SettingsError(f"CUECARD_INTENT_MODEL={self.intent_model!r} is not like intent@2")
        return self

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with command-line overrides applied (None means: keep the env/default value)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None}).validate()


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it to e.g. 19092") from None


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a yes/no value; set it to on or off")


def _parse_budgets(name: str, raw: str) -> tuple[tuple[str, float], ...]:
    try:
        pairs = [item.split("=", 1) for item in raw.split(",") if item.strip()]
        return tuple((channel.strip(), float(ms)) for channel, ms in pairs)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not like 'chat=30,voice=20,email=45' (milliseconds)") from None


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "run_dir": lambda _n, raw: Path(raw).resolve(),
    "cache_dir": lambda _n, raw: Path(raw).resolve(),
    "suggestions_delivery": lambda _n, raw: raw.strip().lower(),
    "kafka_host": lambda _n, raw: raw.strip(),
    "replay_name": lambda _n, raw: raw.strip(),
    "intent_model": lambda _n, raw: raw.strip(),
    "deep_tier": _parse_bool,
    "channel_budget_ms": _parse_budgets,
}


def env_name(field_name: str) -> str:
    """The env var that sets a field, e.g. kafka_port -> CUECARD_KAFKA_PORT."""
    return "CUECARD_" + field_name.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from env vars over the defaults and validate them."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in fields(Settings):
        name = env_name(field.name)
        if name in env and env[name] != "":
            parse = _PARSERS.get(field.name, _parse_int)
            values[field.name] = parse(name, env[name])
    return Settings(**values).validate()


def settings_env(settings: Settings) -> dict[str, str]:
    """The env vars that reproduce these settings in another process (e.g. the `flink run` client)."""
    env = {}
    for field in fields(Settings):
        value = getattr(settings, field.name)
        if field.name == "channel_budget_ms":
            value = ",".join(f"{channel}={ms:g}" for channel, ms in value)
        elif isinstance(value, bool):
            value = "on" if value else "off"
        env[env_name(field.name)] = str(value)
    return env
