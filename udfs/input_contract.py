"""The input contract's rules around the schema check: what is tolerated, cleaned, defaulted and normalised.

`udfs/validation.py` runs them on each decoded input record, which it owns (edited in place):

    before the schema check   unknown schema_version -> DLQ; unknown top-level fields dropped (names kept);
                              control characters and lone surrogates replaced; optional null = absent;
                              `x-default: kafka-timestamp` fields filled in
    after it                  `x-ingest: event-time` fields -> ISO-8601 UTC with milliseconds (a moment
                              too far after the Kafka timestamp is replaced by it); `x-ingest: id` numbers
                              -> strings

Which fields each rule applies to is read from the schema files, so the files stay the one truth;
`udfs/schemas/README.md` has the table of rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from udfs.schema_files import load_schema

# Clock skew a producer may have against its Kafka client; later event times are not believed.
FUTURE_TOLERANCE_MS = 5 * 60 * 1000
MAX_UNKNOWN_NAMES = 20  # reported per record (sorted); a name is masked and cut to NAME_MAX chars
NAME_MAX = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NORMAL_LENGTH = len("2026-11-25T08:00:00.123Z")
_MS = timedelta(milliseconds=1)
# C0 (but tab, LF, CR), DEL and C1 controls become a space; a lone surrogate (from a "\ud800" escape,
# which no UTF-8 writer can encode) becomes U+FFFD. One character for one: lengths are unchanged.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Where JSON bytes can hide such a character: \u escapes of one, \b and \f, a raw DEL, a raw C1 (UTF-8
# C2 80-9F); JSON forbids raw C0 in strings. Scanned with literal prefixes (a character class alone
# costs ~3 us a turn); a hit, or a false one such as an emoji's escaped surrogate pair, sends the
# record through the exact per-string clean-up.
_ESCAPED = re.compile(rb"\\(?:u(?:00[01]|007[fF]|00[89]|[dD][89a-fA-F])|[bf])")
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")


def _may_hold_unwanted(payload: bytes) -> bool:
    return (
        (b"\\" in payload and _ESCAPED.search(payload) is not None)
        or b"\x7f" in payload
        or (b"\xc2" in payload and _RAW_C1.search(payload) is not None)
    )


def _replacement(match: re.Match[str]) -> str:
    return "\ufffd" if match.group() >= "\ud800" else " "


def clean_text(text: str) -> str:
    """The text with control characters replaced by spaces and lone surrogates by U+FFFD."""
    return _UNWANTED.sub(_replacement, text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=4096)
def reported_name(name: str) -> str:
    """An unknown field's name as it may be recorded: cleaned, PII-masked, at most NAME_MAX chars."""
    from udfs.pii import mask_pii  # the masker's tables load only when a producer sends unknown fields

    return mask_pii(clean_text(name)).masked_text[:NAME_MAX]


def epoch_ms_iso(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds and a Z (2026-11-25T08:00:00.123Z)."""
    return (_EPOCH + ms * _MS).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_time(value: str | float) -> tuple[int, str] | None:
    """Epoch milliseconds and normal form of a schema-valid event time; None if it names no real moment."""
    if not isinstance(value, str):
        ms = int(value)
        return ms, epoch_ms_iso(ms)
    try:
        ms = (datetime.fromisoformat(value) - _EPOCH) // _MS
        if len(value) == _NORMAL_LENGTH and value[-1] == "Z" and value[-5] == ".":
            return ms, value  # already the normal form, as most records are
        return ms, epoch_ms_iso(ms)  # OverflowError if an offset moves year 1 or 9999 out of range
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class ContractRules:
    """The rules of one input schema, read from its file."""

    name: str
    version: int | None
    known: frozenset[str] | None  # None: unknown fields are not tolerated (additionalProperties false)
    null_is_absent: frozenset[str]  # optional fields whose schema does not allow null
    kafka_defaults: tuple[str, ...]
    event_times: tuple[str, ...]
    ids: tuple[str, ...]

    def version_error(self, record: dict[str, Any]) -> str | None:
        """Why the record's schema_version is one this job cannot read (None if it can, or is no number)."""
        version = record.get("schema_version")
        if self.version is None or type(version) not in (int, float) or version == self.version:
            return None
        return f"schema_version {version} is unknown: this job reads {self.name} version {self.version} only"

    def drop_unknown(self, record: dict[str, Any]) -> tuple[str, ...]:
        """Remove the top-level fields the schema does not list; their reported names, sorted, capped."""
        if self.known is None or self.known.issuperset(record):
            return ()
        unknown = sorted(record.keys() - self.known)
        for name in unknown:
            del record[name]
        return tuple(reported_name(name) for name in unknown[:MAX_UNKNOWN_NAMES])

    def prepare(self, record: dict[str, Any], payload: bytes, kafka_ms: int, notes: list[str]) -> list[str]:
        """Clean, drop nulls, fill defaults (`payload`: the record's JSON); a violation per default it lacks."""
        if _may_hold_unwanted(payload):
            changed = []
            for name, value in record.items():
                cleaned = _clean(value)
                if cleaned != value:
                    record[name] = cleaned
                    changed.append(f"$.{name}")
            if changed:
                notes.append(f"control characters replaced in {', '.join(changed)}")
        if None in record.values():
            for name in [k for k, v in record.items() if v is None and k in self.null_is_absent]:
                del record[name]
        missing = []
        for name in self.kafka_defaults:
            if name in record:
                continue
            if kafka_ms <= 0:
                missing.append(f"$: missing required field {name!r} (no Kafka timestamp to default it to)")
            else:
                record[name] = epoch_ms_iso(kafka_ms)
                notes.append(f"$.{name} absent: set to the Kafka timestamp")
        return missing

    def normalise(self, record: dict[str, Any], kafka_ms: int, notes: list[str]) -> str | None:
        """Event times to one form, id numbers to strings, on a schema-valid record; a DLQ reason if one fails."""
        for name in self.event_times:
            value = record.get(name)
            if value is None:
                continue
            parsed = _event_time(value)
            if parsed is not None and (kafka_ms <= 0 or parsed[0] - kafka_ms <= FUTURE_TOLERANCE_MS):
                record[name] = parsed[1]
                continue
            if kafka_ms <= 0:
                return f"$.{name}: not a calendar date and time"
            if parsed is None:
                notes.append(f"$.{name} is not a calendar date and time: replaced by the Kafka timestamp")
            else:
                hours = (parsed[0] - kafka_ms) / 3_600_000
                notes.append(f"$.{name} was {hours:.1f} h after the Kafka timestamp: replaced by it")
            record[name] = epoch_ms_iso(kafka_ms)
        for name in self.ids:
            value = record.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                record[name] = str(int(value))
        return None


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


@cache
def contract_rules(name: str) -> ContractRules:
    """The contract rules of an input schema; read on first use and cached for the process."""
    schema = load_schema(name)
    props: dict[str, dict[str, Any]] = schema.get("properties", {})
    required = set(schema.get("required", ()))

    def marked(key: str, value: str) -> tuple[str, ...]:
        return tuple(field for field, sub in props.items() if sub.get(key) == value)

    return ContractRules(
        name=name,
        version=props.get("schema_version", {}).get("const"),
        known=None if schema.get("additionalProperties", True) is False else frozenset(props),
        null_is_absent=frozenset(f for f, sub in props.items() if f not in required and "null" not in _types(sub)),
        kafka_defaults=marked("x-default", "kafka-timestamp"),
        event_times=marked("x-ingest", "event-time"),
        ids=marked("x-ingest", "id"),
    )
