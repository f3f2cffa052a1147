import copy
import json
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from jobs.generator import GeneratorConfig, generate
from udfs.records import load_policy_file
from udfs.schema_files import SCHEMA_DIR, SCHEMA_NAMES, load_schema
from udfs.validation import validator


def test_every_schema_file_is_listed_and_valid_draft_2020_12() -> None:
    on_disk = sorted(p.name for p in SCHEMA_DIR.glob("*.json"))
    assert on_disk == sorted(f"{n}.v1.json" for n in SCHEMA_NAMES)
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def _fields(schema: dict[str, Any], path: str):
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}", sub
        yield from _fields(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _fields(schema[key], f"{path}[]")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_field_has_a_description(name: str) -> None:
    missing = [path for path, sub in _fields(load_schema(name), name) if not sub.get("description")]
    assert missing == []


def _samples() -> dict[str, list[dict[str, Any]]]:
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for item in generate(GeneratorConfig(seed=11, conversations=25, malformed_every=0)):
        by_topic.setdefault(item["topic"], []).append(item["value"])
    return by_topic


def test_generated_records_conform() -> None:
    samples = _samples()
    names = {
        "conversation.events": "conversation_event",
        "customer.context": "customer_context",
        "agent.state": "agent_state",
        "coaching.policies": "policy",
    }
    for topic, name in names.items():
        for record in samples[topic]:
            assert validator(name).errors(record) == []


def test_default_policies_conform_and_v2_is_stricter() -> None:
    v1, v2 = load_policy_file(1), load_policy_file(2)
    for policy in (v1, v2):
        assert validator("policy").errors(policy) == []
    assert set(v1["forbidden_phrases"]) < set(v2["forbidden_phrases"])
    assert set(v1["required_disclosures"]) < set(v2["required_disclosures"])
    assert (v2["effective_at"], v2["version"]) > (v1["effective_at"], v1["version"])


def test_policy_must_name_the_mandatory_high_risk_intents() -> None:
    policy = load_policy_file(1)
    policy["high_risk_intents"] = ["legal_threat", "fraud_report"]
    assert validator("policy").errors(policy)


def _mutations(record: dict[str, Any], fields: list[str], rng: random.Random):
    replacements = [None, "", "x" * 9000, -1, 1.5, True, [], {}, "fax", 2, "2026-11-25"]
    # Values of the union fields (event times, ids, skills, consent): right and wrong for each type.
    replacements += [1795593600123, 1795593600, 1795593600123.0, "2026-11-25T09:00:00+01:00", 4711]
    replacements += [["a", {"level": 3}], [{}], [""], {"recording": True}, {"recording": 1}]
    for key in fields:
        for value in rng.sample(replacements, 8):
            mutated = copy.deepcopy(record)
            mutated[key] = value
            yield mutated
        dropped = {k: v for k, v in record.items() if k != key}
        yield dropped
    yield {**record, "unexpected": 1}


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("conversation.events", "conversation_event"),
        ("customer.context", "customer_context"),
        ("agent.state", "agent_state"),
        ("coaching.policies", "policy"),
    ],
)
def test_fast_path_agrees_with_jsonschema(topic: str, name: str) -> None:
    """The compiled check must never accept what jsonschema rejects (nor the reverse)."""
    compiled = validator(name)
    assert compiled.fast is not None
    rng = random.Random(5)
    for record in _samples()[topic][:5]:
        fields = list(dict.fromkeys([*record, *load_schema(name)["properties"]]))  # set the absent ones too
        for mutated in _mutations(record, fields, rng):
            assert compiled.fast(mutated) == compiled.full.is_valid(mutated), json.dumps(mutated)[:200]
