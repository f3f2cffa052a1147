"""The one settings object of cuecard: frozen, typed, read from `CUECARD_*` env vars, validated at start-up.

Every `CUECARD_*` variable is a field here, declared with `setting(default, help)`: its env name, its
parser, its shown default and its one-line meaning live beside it, so `cuecard --help` and the README
table (`reference()`) cannot go stale. Paths that are not set follow `CUECARD_RUN_DIR` / `CUECARD_CACHE_DIR`.
A bad value stops the program with one line that says what is wrong and how to fix it (`SettingsError`).
This module sits on the bottom floor: it imports nothing of cuecard, so every layer may use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

PROJECT_ROOT = Path(__file__).resolve().parents[1]
Delivery = Literal["at-least-once", "exactly-once"]
DELIVERY_MODES: tuple[Delivery, ...] = get_args(Delivery)

Parser = Callable[[str, str], Any]


class SettingsError(ValueError):
    """A configuration value is wrong; the message is one line naming the variable and the fix."""


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it to e.g. 10") from None


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set it to e.g. 2.5") from None


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a yes/no value; set it to on or off")


def _parse_path(_name: str, raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _parse_text(_name: str, raw: str) -> str:
    return raw.strip()


def _parse_delivery(name: str, raw: str) -> Delivery:
    value = raw.strip().lower()
    for mode in DELIVERY_MODES:
        if value == mode:
            return mode
    raise SettingsError(f"{name}={raw!r} is not one of {', '.join(DELIVERY_MODES)}; set it to one of them")


def _parse_budgets(name: str, raw: str) -> tuple[tuple[str, float], ...]:
    try:
        pairs = [item.split("=", 1) for item in raw.split(",") if item.strip()]
        return tuple((channel.strip(), float(ms)) for channel, ms in pairs)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not like 'chat=30,voice=20,email=45' (milliseconds)") from None


def _format_budgets(value: tuple[tuple[str, float], ...]) -> str:
    return ",".join(f"{channel}={ms:g}" for channel, ms in value)


_PARSER_BY_TYPE: dict[type, Parser] = {bool: _parse_bool, int: _parse_int, float: _parse_float, str: _parse_text}


def setting(
    default: Any,
    meaning: str,
    *,
    env: str | None = None,
    parse: Parser | None = None,
    follows: Callable[[Settings], Path] | None = None,
    shown: str | None = None,
    render: Callable[[Any], str] | None = None,
) -> Any:
    """A settings field: its default, one-line meaning (for --help and the README) and how env text is read.

    `env` overrides the env name (default `CUECARD_<FIELD>`); `follows` derives an unset path from the
    other settings (e.g. the run dir); `shown` is the default as documented; `render` writes the value
    back as env text (`settings_env`).
    """
    if parse is None:
        parse = _parse_path if isinstance(default, Path) or follows else _PARSER_BY_TYPE[type(default)]
    metadata = {"meaning": meaning, "env": env, "parse": parse, "follows": follows, "shown": shown, "render": render}
    return field(default=default, metadata=metadata)


def _shown_path(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else str(path)


@dataclass(frozen=True)
class Settings:
    """Everything a cuecard process needs to know about where things are and how to deliver."""

    run_dir: Path = setting(PROJECT_ROOT / ".run", "state, logs and pids of the local stack")
    cache_dir: Path = setting(PROJECT_ROOT / ".cache", "fetched jars and built models")
    models_dir: Path = setting(
        None,
        "built model artifacts and the registry the build wrote",
        follows=lambda s: s.cache_dir / "models",
        shown="$CUECARD_CACHE_DIR/models",
    )
    audit_dir: Path = setting(
        None,
        "root of the audit lake's Delta tables",
        follows=lambda s: s.run_dir / "audit" / "delta",
        shown="$CUECARD_RUN_DIR/audit/delta",
    )
    audit_docs_dir: Path = setting(
        None,
        "Great Expectations Data Docs of `cuecard audit validate`",
        follows=lambda s: s.run_dir / "audit" / "data_docs",
        shown="$CUECARD_RUN_DIR/audit/data_docs",
    )
    lineage_file: Path = setting(
        None,
        "OpenLineage run events, one JSON line each",
        follows=lambda s: s.run_dir / "lineage" / "events.jsonl",
        shown="$CUECARD_RUN_DIR/lineage/events.jsonl",
    )
    kafka_host: str = setting("127.0.0.1", "host of the broker clients connect to")
    kafka_port: int = setting(19092, "broker port on 127.0.0.1")
    kafka_controller_port: int = setting(19093, "KRaft controller port on 127.0.0.1")
    flink_rest_port: int = setting(18081, "Flink JobManager REST API and web UI port")
    flink_rpc_port: int = setting(16123, "Flink JobManager RPC port")
    topic_partitions: int = setting(2, "partitions of the topics `cuecard up` creates")
    parallelism: int = setting(1, "parallelism of the coaching job")
    checkpoint_interval_ms: int = setting(2000, "checkpoint interval of the coaching job")
    suggestions_delivery: Delivery = setting(
        "at-least-once",
        "delivery of coaching.suggestions/alerts: at-least-once or exactly-once (transactional)",
        parse=_parse_delivery,
    )
    replay_name: str = setting("", "set by `cuecard replay`: run as a replay writing replay.NAME.* topics")
    intent_model: str = setting("", "intent model to serve, like intent@2 (empty: the champion)")
    channel_budget_ms: tuple[tuple[str, float], ...] = setting(
        (("chat", 30.0), ("voice", 20.0), ("email", 45.0)),
        "fast-tier latency budget per channel, in ms (the benchmark checks p99 against it)",
        parse=_parse_budgets,
        render=_format_budgets,
    )
    deep_tier: bool = setting(
        default=True, meaning="on: the deep tier updates reply and knowledge cards after the fast ones; off: fast only"
    )
    deep_deadline_ms: float = setting(500.0, "a deep-tier update later than this after the turn is not published")
    max_event_bytes: int = setting(64 * 1024, "larger input records go to the DLQ")
    conversation_ttl_minutes: int = setting(60, "idle conversation state expires after this")
    audit_batch_records: int = setting(1000, "the audit lake writer closes a batch at this many records")
    audit_batch_seconds: float = setting(2.0, "the audit lake writer closes a batch this long after its first record")
    audit_quality: bool = setting(default=True, meaning="off: the audit lake writer skips its data-quality gate")
    generator_seed: int = setting(7, "`cuecard generate`: random seed", env="CUECARD_SEED")
    generator_conversations: int = setting(50, "`cuecard generate`: conversations", env="CUECARD_CONVERSATIONS")
    generator_malformed_every: int = setting(
        40, "`cuecard generate`: one malformed record after every N turns, 0 for none", env="CUECARD_MALFORMED_EVERY"
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            derive = f.metadata["follows"]
            if derive is not None and getattr(self, f.name) is None:
                object.__setattr__(self, f.name, derive(self))

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
    def connector_jar(self) -> Path:
        """The shaded Flink Kafka connector jar (flink-sql-connector-kafka) the jobs load."""
        folder = self.jars_dir / "flink"
        found = sorted(folder.glob("flink-sql-connector-kafka-*.jar"))
        if not found:
            raise SettingsError(
                f"Flink Kafka connector jar missing in {folder}; run `make jars` or set CUECARD_CACHE_DIR"
            )
        return found[-1]

    @property
    def budgets(self) -> dict[str, float]:
        """Per-channel deep-tier latency budget in milliseconds."""
        return dict(self.channel_budget_ms)

    def validate(self) -> Settings:
        """Check ranges and cross-field rules; returns self so it chains after construction."""
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
                f"CUECARD_SUGGESTIONS_DELIVERY={self.suggestions_delivery!r} is not one of {', '.join(DELIVERY_MODES)}"
            )
        for name in (
            "topic_partitions",
            "parallelism",
            "checkpoint_interval_ms",
            "max_event_bytes",
            "conversation_ttl_minutes",
            "audit_batch_records",
        ):
            value = getattr(self, name)
            if value < 1:
                raise SettingsError(f"{env_name(name)}={value} must be a positive whole number")
        if self.deep_deadline_ms <= 0:
            raise SettingsError(f"CUECARD_DEEP_DEADLINE_MS={self.deep_deadline_ms} must be more than 0")
        if self.audit_batch_seconds <= 0:
            raise SettingsError(f"CUECARD_AUDIT_BATCH_SECONDS={self.audit_batch_seconds} must be more than 0")
        for name in ("generator_conversations", "generator_malformed_every"):
            value = getattr(self, name)
            if value < 0:
                raise SettingsError(f"{env_name(name)}={value} is negative; set it to 0 or more")
        if any(ms <= 0 for _, ms in self.channel_budget_ms):
            budgets = _format_budgets(self.channel_budget_ms)
            raise SettingsError(
                f"CUECARD_CHANNEL_BUDGET_MS={budgets} has a budget <= 0; give each channel more than 0 ms"
            )
        if self.replay_name and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", self.replay_name):
            raise SettingsError(
                f"CUECARD_REPLAY_NAME={self.replay_name!r} is not a short name; use lowercase letters, digits and -"
            )
        if self.intent_model and not re.fullmatch(r"intent@[\w.-]+", self.intent_model):
            raise SettingsError(f"CUECARD_INTENT_MODEL={self.intent_model!r} is not like intent@2")
        return self

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with command-line overrides applied (None means: keep the env/default value).

        A path that followed the run or cache dir keeps following it when that dir is overridden.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        for f in fields(self):
            derive = f.metadata["follows"]
            if derive is not None and f.name not in changes and getattr(self, f.name) == derive(self):
                changes[f.name] = None
        return replace(self, **changes).validate()


def _field(field_name: str) -> Field[Any]:
    for f in fields(Settings):
        if f.name == field_name:
            return f
    raise KeyError(f"Settings has no field {field_name!r}")


def env_name(field_name: str) -> str:
    """The env var that sets a field, e.g. kafka_port -> CUECARD_KAFKA_PORT."""
    return _field(field_name).metadata["env"] or "CUECARD_" + field_name.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from env vars over the defaults and validate them (empty means unset)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = env_name(f.name)
        if env.get(name, "") != "":
            values[f.name] = f.metadata["parse"](name, env[name])
    return Settings(**values).validate()


def _env_text(f: Field[Any], value: Any) -> str:
    render = f.metadata["render"]
    if render is not None:
        return str(render(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """The env vars that reproduce these settings in another process (e.g. the `flink run` client)."""
    return {env_name(f.name): _env_text(f, getattr(settings, f.name)) for f in fields(Settings)}


class SettingDoc(NamedTuple):
    """One row of the configuration reference: env var, default as documented, one-line meaning."""

    env: str
    default: str
    meaning: str


def reference() -> list[SettingDoc]:
    """Every env var cuecard reads, with its default and meaning, in declaration order."""
    rows = []
    for f in fields(Settings):
        shown = f.metadata["shown"]
        if shown is None:
            default = f.default
            shown = _shown_path(default) if isinstance(default, Path) else _env_text(f, default)
        rows.append(SettingDoc(env_name(f.name), shown or '""', f.metadata["meaning"]))
    return rows
