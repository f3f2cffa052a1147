"""Decode and validate raw Kafka records against the versioned JSON Schemas in `udfs/schemas/`.

`decode_and_validate` never raises: every failure becomes a DLQ record (see `dlq_record.v1.json`) whose
reason lists every violation, each naming the rule and the JSON path but never echoing free text (it may
hold PII). Around the schema check it applies the input contract's rules (`udfs/input_contract.py`:
unknown fields, control characters, defaults, event times) and reads the Confluent Schema Registry wire
format as well as plain JSON.

Speed: jsonschema's Draft 2020-12 validator costs ~58 us per valid turn here (measured with
`is_valid` on a typical 10-field event), most of a 0.1 ms budget. So each schema is also compiled
into plain Python checks for the keyword subset our schemas use; a record the fast check accepts is
valid, and only a record it rejects goes through jsonschema, which stays the authority and produces
the error message. A schema with a keyword the compiler does not know uses jsonschema alone.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping, Sized
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from udfs.clock import utc_iso
from udfs.input_contract import contract_rules
from udfs.schema_files import SCHEMA_NAMES, load_schema
from udfs.topics import INPUT_TOPICS

# Input topics and the schema their values must follow (from the topic registry).
TOPIC_SCHEMAS = {t.name: t.schema for t in INPUT_TOPICS}
_ENUM_VALUE_ECHO_MAX = 32  # short enum values are echoed (masked) in errors; longer ones by length only
_ERROR_MAX = 1900  # the DLQ's error field holds 2000 chars; the rest of a long violation list is counted
# Confluent Schema Registry wire format: magic byte 0, a 4-byte big-endian schema id, then the payload.
# No JSON text starts with byte 0, so the framing cannot be mistaken for a plain value.
_CONFLUENT_HEADER = 5


@dataclass(frozen=True, slots=True)
class Valid:
    """A decoded record that conforms to its topic's schema, after the input contract's rules ran.

    `unknown_fields`: names of the top-level fields it had beyond the schema (dropped from `record`),
    masked, sorted, at most 20. `notes`: what ingest changed or read beyond plain JSON (a defaulted or
    replaced timestamp, control characters, the Confluent wire format), PII-free.
    """

    record: dict[str, Any]
    schema: str
    unknown_fields: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that goes to `coaching.dlq`, as a dlq_record.v1 object."""

    dlq_record: dict[str, Any]


class _Unsupported(Exception):
    """The schema uses a keyword the fast compiler does not handle."""


_ANNOTATIONS = {"$schema", "$id", "title", "description", "examples", "$comment", "default", "$defs"}
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}
Check = Callable[[Any], bool]


def _json_key(value: Any) -> Any:
    # JSON equality: booleans are not numbers, 1 == 1.0.
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", float(value))
    if isinstance(value, str) or value is None:
        return value
    return ("json", json.dumps(value, sort_keys=True))


def _compile(schema: Mapping[str, Any]) -> Check:
    """Compile a schema (our keyword subset) into one predicate; raises _Unsupported otherwise.

    Strings, plain objects and unions of types (an ISO string or epoch milliseconds) - nearly every
    field - get one specialised closure each; anything else is a conjunction of per-keyword checks.
    Loops instead of `all(genexpr)`: half the cost here.
    """
    keywords = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if not keywords:
        return _accept
    kind = schema.get("type")
    if kind == "string" and keywords <= _STRING_KEYWORDS:
        return _string_check(schema)
    if isinstance(kind, list) and set(kind) <= _TYPE_KEYWORDS.keys():
        if keywords - {"type"} <= set().union(*(_TYPE_KEYWORDS[k] for k in kind)):
            return _union_check(schema, kind)
    if kind == "object" and keywords <= _OBJECT_KEYWORDS:
        return _object_check(schema)
    checks = [_keyword_check(k, schema[k], schema) for k in keywords]

    def conjunction(v: Any) -> bool:
        for check in checks:
            if not check(v):
                return False
        return True

    return checks[0] if len(checks) == 1 else conjunction


def _accept(v: Any) -> bool:
    return True


_STRING_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern", "enum"})
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "maxProperties"})
# Keywords that constrain values of one JSON type only, so a union of types checks each value by the
# keywords of its own type.
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum"})
_TYPE_KEYWORDS = {
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "integer": _NUMBER_KEYWORDS,
    "number": _NUMBER_KEYWORDS,
    "object": _OBJECT_KEYWORDS - {"type"},
    "boolean": frozenset(),
    "null": frozenset(),
}


def _string_check(schema: Mapping[str, Any]) -> Check:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", float("inf"))
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None
    allowed = frozenset(schema["enum"]) if "enum" in schema else None

    def check_string(v: Any) -> bool:
        if not isinstance(v, str) or not low <= len(v) <= high:
            return False
        if search is not None and search(v) is None:
            return False
        return allowed is None or v in allowed

    return check_string


def _union_check(schema: Mapping[str, Any], kinds: list[str]) -> Check:
    parts = [
        (_TYPE_CHECKS[kind], _compile({"type": kind, **{k: schema[k] for k in _TYPE_KEYWORDS[kind] if k in schema}}))
        for kind in kinds
    ]

    def check_union(v: Any) -> bool:
        for is_kind, check in parts:
            if is_kind(v):
                return check(v)
        return False

    return check_union


def _object_check(schema: Mapping[str, Any]) -> Check:
    props = {name: _compile(sub) for name, sub in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))
    max_props = schema.get("maxProperties", float("inf"))
    extra_schema = schema.get("additionalProperties", True)
    extra: Check | bool = extra_schema if isinstance(extra_schema, bool) else _compile(extra_schema)
    if extra is _accept:
        extra = True

    def check_object(v: Any) -> bool:
        if not isinstance(v, dict) or len(v) > max_props:
            return False
        for name in required:
            if name not in v:
                return False
        for name, value in v.items():
            check = props.get(name)
            if check is not None:
                if not check(value):
                    return False
            elif extra is False or (extra is not True and not extra(value)):
                return False
        return True

    return check_object


def _keyword_check(keyword: str, arg: Any, schema: Mapping[str, Any]) -> Check:
    if keyword == "type":
        types = [arg] if isinstance(arg, str) else list(arg)
        type_checks = [_TYPE_CHECKS[t] for t in types]
        return lambda v: any(check(v) for check in type_checks)
    if keyword == "enum":
        allowed = frozenset(_json_key(item) for item in arg)
        if all(isinstance(item, str) or item is None for item in arg):
            return lambda v: (v is None or isinstance(v, str)) and v in allowed
        return lambda v: _json_key(v) in allowed
    if keyword == "const":
        expected = _json_key(arg)
        return lambda v: _json_key(v) == expected
    if keyword in ("minimum", "maximum"):
        bound = arg
        numeric = _TYPE_CHECKS["number"]
        if keyword == "minimum":
            return lambda v: not numeric(v) or v >= bound
        return lambda v: not numeric(v) or v <= bound
    if keyword in ("minLength", "maxLength"):
        n = arg
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= n
        return lambda v: not isinstance(v, str) or len(v) <= n
    if keyword == "pattern":
        search = re.compile(arg).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if keyword in ("minItems", "maxItems", "minProperties", "maxProperties"):
        n = arg
        kind: type[Sized] = list if keyword.endswith("Items") else dict
        if keyword.startswith("min"):
            return lambda v: not isinstance(v, kind) or len(v) >= n
        return lambda v: not isinstance(v, kind) or len(v) <= n
    if keyword == "uniqueItems":
        if not arg:
            return lambda v: True
        return lambda v: not isinstance(v, list) or len({_json_key(i) for i in v}) == len(v)
    if keyword == "items":
        item = _compile(arg)
        return lambda v: not isinstance(v, list) or all(item(i) for i in v)
    if keyword == "contains":
        inner = _compile(arg)
        return lambda v: not isinstance(v, list) or any(inner(i) for i in v)
    if keyword == "allOf":
        parts = [_compile(sub) for sub in arg]
        return lambda v: all(part(v) for part in parts)
    if keyword == "required":
        names = tuple(arg)
        return lambda v: not isinstance(v, dict) or all(name in v for name in names)
    if keyword == "propertyNames":
        name_check = _compile(arg)
        return lambda v: not isinstance(v, dict) or all(name_check(k) for k in v)
    if keyword == "properties":
        props = {name: _compile(sub) for name, sub in arg.items()}
        return lambda v: not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)
    if keyword == "additionalProperties":
        known = frozenset(schema.get("properties", {}))
        if arg is False:
            return lambda v: not isinstance(v, dict) or known.issuperset(v)
        extra = _compile(arg)
        return lambda v: not isinstance(v, dict) or all(extra(x) for k, x in v.items() if k not in known)
    raise _Unsupported(keyword)


@dataclass(frozen=True)
class SchemaValidator:
    """One schema compiled twice: a fast predicate (if the compiler supports it) and jsonschema's validator."""

    name: str
    fast: Check | None
    full: Draft202012Validator

    def errors(self, record: Any) -> list[ValidationError]:
        """Every violation (empty if valid); the fast check settles the common valid case."""
        if self.fast is not None and self.fast(record):
            return []
        return list(self.full.iter_errors(record))


@cache
def validator(name: str) -> SchemaValidator:
    """The compiled validator of a schema; compiled on first use and cached for the process."""
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    try:
        fast: Check | None = _compile(schema)
    except _Unsupported:
        fast = None
    return SchemaValidator(name, fast, Draft202012Validator(schema))


def load_validators() -> None:
    """Compile every schema and input contract now (call from an operator's `open()`), so no record pays for it."""
    for name in SCHEMA_NAMES:
        validator(name)
    for name in TOPIC_SCHEMAS.values():
        contract_rules(name)


def validate(name: str, record: Any) -> str | None:
    """None if the record is valid, else a one-line reason listing every violation (no free-text values)."""
    errors = validator(name).errors(record)
    return describe_errors(errors) if errors else None


def describe_errors(errors: list[ValidationError], *also: str) -> str:
    """Every violation (and `also`), one description each (`a; b`, sorted), within the DLQ's error field."""
    descriptions = sorted({*(describe_error(error) for error in errors), *also})
    if len(descriptions) == 1:
        return descriptions[0]
    text = f"{len(descriptions)} violations: "
    for n, description in enumerate(descriptions):
        if len(text) + len(description) > _ERROR_MAX:
            return f"{text}; and {len(descriptions) - n} more"
        text += description if n == 0 else f"; {description}"
    return text


def describe_error(error: ValidationError) -> str:
    """A precise, PII-free description of one violation: JSON path, rule and its limit."""
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    rule, limit, value = error.validator, error.validator_value, error.instance
    if rule == "required":
        # jsonschema reports each missing field as its own error; each describes them all (deduplicated).
        missing = [name for name in limit if isinstance(value, dict) and name not in value]
        if len(missing) > 1:
            return f"{path}: missing required fields {', '.join(map(repr, missing))}"
        return f"{path}: missing required field {missing[0]!r}" if missing else f"{path}: missing required field"
    if rule == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {}))) if isinstance(value, dict) else []
        return f"{path}: unexpected field(s) {', '.join(_describe_value(name) for name in extra)}"
    if rule in ("enum", "const"):
        allowed = limit if rule == "enum" else [limit]
        return f"{path}: {_describe_value(value)} is not one of {allowed}"
    if rule == "type":
        return f"{path}: expected type {limit}, got {_json_type(value)}"
    if rule in ("maxLength", "minLength"):
        return f"{path}: {rule} {limit} violated (length {len(value)})"
    if rule in ("minimum", "maximum"):
        return f"{path}: {rule} {limit} violated (got {_describe_value(value)})"
    if rule == "pattern":
        return f"{path}: does not match pattern {limit}"
    return f"{path}: {rule} {json.dumps(limit)[:200]} violated"


def _describe_value(value: Any) -> str:
    """A short, PII-masked rendering of an offending value (a number can be a card number too)."""
    from udfs.pii import mask_pii

    if isinstance(value, str):
        if len(value) > _ENUM_VALUE_ECHO_MAX:
            return f"a string of {len(value)} chars"
        return repr(mask_pii(value).masked_text)
    text = json.dumps(value)
    if len(text) > _ENUM_VALUE_ECHO_MAX:
        return f"a {_json_type(value)}"
    return f"{_json_type(value)} {mask_pii(text).masked_text}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _error_type(error: ValidationError) -> str:
    if error.validator == "required":
        return "missing_field"
    if error.validator in ("enum", "const"):
        return "enum"
    return "schema"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for the process: json.loads with an option builds a new one per call (~1 us).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def make_dlq_record(
    error: str,
    error_type: str,
    raw: bytes,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    failed_at: str | None = None,
) -> dict[str, Any]:
    """A dlq_record.v1 object; the original key and value bytes are kept, base64-encoded."""
    return {
        "error": error,
        "error_type": error_type,
        "source": {"topic": topic, "partition": partition, "offset": offset, "timestamp_ms": timestamp_ms},
        "failed_at": failed_at or utc_iso(),
        "raw_base64": base64.b64encode(raw).decode("ascii"),
        "key_base64": base64.b64encode(key).decode("ascii") if key is not None else None,
    }


def decode_and_validate(
    raw: bytes,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    max_bytes: int,
    key: bytes | None = None,
) -> Valid | Rejected:
    """Decode one raw value, apply the input contract and validate it against its topic's schema; never raises.

    Checks run cheapest first: size (before decoding, so a huge value is never parsed), the Confluent
    header, UTF-8, JSON (an object; NaN/Infinity are rejected as they are not JSON), schema_version, then
    the schema. `timestamp_ms` (the Kafka timestamp, <= 0 if none) fills defaults and bounds event times.
    """

    def reject(error: str, error_type: str) -> Rejected:
        return Rejected(make_dlq_record(error, error_type, raw, key, topic, partition, offset, timestamp_ms))

    try:
        name = TOPIC_SCHEMAS.get(topic)
        if name is None:
            return reject(f"topic {topic!r} has no input schema", "unknown_topic")
        if len(raw) > max_bytes:
            return reject(f"value is {len(raw)} bytes; the limit is {max_bytes}", "oversize")
        payload, what, notes = raw, "value", []
        if raw[:1] == b"\x00":
            if len(raw) < _CONFLUENT_HEADER:
                return reject(
                    "value starts with the Confluent wire format's magic byte 0 but has no schema id", "decode"
                )
            schema_id = int.from_bytes(raw[1:_CONFLUENT_HEADER], "big")
            payload, what = raw[_CONFLUENT_HEADER:], f"Confluent wire format value (schema id {schema_id}): its payload"
            notes.append(f"Confluent wire format, schema id {schema_id}")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as err:
            return reject(f"{what} is not UTF-8: invalid byte at position {err.start}", "decode")
        try:
            record = _DECODER.decode(text)
        except (ValueError, RecursionError) as err:
            reason = (
                f"{err.msg} at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else err
            )
            return reject(f"{what} is not JSON: {reason}", "json")
        if not isinstance(record, dict):
            return reject(f"{what} is a JSON {_json_type(record)}, not an object", "json")
        rules = contract_rules(name)
        version_error = rules.version_error(record)
        if version_error:
            return reject(f"{name}.v1: {version_error}", "enum")
        unknown = rules.drop_unknown(record)
        missing = rules.prepare(record, payload, timestamp_ms, notes)
        errors = validator(name).errors(record)
        if errors or missing:
            error_type = _error_type(best_match(errors)) if errors else "missing_field"
            return reject(f"{name}.v1: {describe_errors(errors, *missing)}", error_type)
        problem = rules.normalise(record, timestamp_ms, notes)
        if problem:
            return reject(f"{name}.v1: {problem}", "schema")
        return Valid(record, name, unknown, tuple(notes))
    except Exception as err:  # noqa: BLE001 - a poison record must never crash the job
        return reject(f"validation failed unexpectedly: {type(err).__name__}", "schema")
