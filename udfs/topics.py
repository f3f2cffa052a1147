"""The topic registry: every Kafka topic of the contract, read from the `x-kafka-*` keys of its schema file.

Each schema in `udfs/schemas/` names its topic (`x-kafka-topic`), the value field that is the record key
(`x-kafka-key`, null when the key is carried over from another record, as in the DLQ), whether the job
reads or writes it (`x-kafka-role`) and whether it is always written in Kafka transactions
(`x-kafka-transactional`). Code refers to topics through the constants below (`AUDIT.name`), never by
spelling a topic name out, so a renamed topic is one edit in one schema file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from udfs.schema_files import SCHEMA_NAMES, load_schema
from udfs.settings import Delivery

Role = Literal["input", "output"]
ROLES: tuple[Role, ...] = ("input", "output")


class TopicError(KeyError):
    """A topic name or schema that the registry does not know, or a schema file with bad `x-kafka-*` keys."""


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the contract: its name, the schema of its values, its key field, role and delivery."""

    name: str
    schema: str
    key: str | None
    role: Role
    transactional: bool

    def exactly_once(self, delivery: Delivery) -> bool:
        """Whether the job writes it in transactions: always (audit, DLQ), or per the live-delivery setting."""
        return self.role == "output" and (self.transactional or delivery == "exactly-once")


def _topic(schema_name: str) -> Topic:
    schema = load_schema(schema_name)
    where = f"udfs/schemas/{schema_name}.v1.json"
    name, key = schema.get("x-kafka-topic"), schema.get("x-kafka-key")
    role, transactional = schema.get("x-kafka-role"), schema.get("x-kafka-transactional")
    if not isinstance(name, str) or not name:
        raise TopicError(f"{where} has no x-kafka-topic; add the topic name")
    if key is not None and key not in schema.get("properties", {}):
        raise TopicError(f"{where}: x-kafka-key {key!r} is not a field; name one of its properties or null")
    if role not in ROLES:
        raise TopicError(f"{where}: x-kafka-role {role!r} is not one of {', '.join(ROLES)}")
    if not isinstance(transactional, bool):
        raise TopicError(f"{where}: x-kafka-transactional must be true or false")
    return Topic(name=name, schema=schema_name, key=key, role=role, transactional=transactional)


TOPICS: tuple[Topic, ...] = tuple(_topic(name) for name in SCHEMA_NAMES)
_BY_NAME = {t.name: t for t in TOPICS}
_BY_SCHEMA = {t.schema: t for t in TOPICS}
if len(_BY_NAME) != len(TOPICS):
    raise TopicError("two schema files name the same x-kafka-topic; give each its own")

INPUT_TOPICS: tuple[Topic, ...] = tuple(t for t in TOPICS if t.role == "input")
OUTPUT_TOPICS: tuple[Topic, ...] = tuple(t for t in TOPICS if t.role == "output")


def topic_named(name: str) -> Topic:
    """The topic with this name; TopicError if the contract has none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TopicError(f"no topic {name!r}; known: {', '.join(_BY_NAME)}") from None


def topic_of_schema(schema_name: str) -> Topic:
    """The topic whose values follow this schema."""
    try:
        return _BY_SCHEMA[schema_name]
    except KeyError:
        raise TopicError(f"no topic for schema {schema_name!r}; known: {', '.join(_BY_SCHEMA)}") from None


def names(topics: tuple[Topic, ...] = TOPICS) -> tuple[str, ...]:
    """The names of these topics, in registry order."""
    return tuple(t.name for t in topics)


CONVERSATION_EVENTS = topic_of_schema("conversation_event")
CUSTOMER_CONTEXT = topic_of_schema("customer_context")
AGENT_STATE = topic_of_schema("agent_state")
POLICIES = topic_of_schema("policy")
FEEDBACK = topic_of_schema("feedback")
SUGGESTIONS = topic_of_schema("suggestion")
ALERTS = topic_of_schema("alert")
AUDIT = topic_of_schema("audit_record")
DLQ = topic_of_schema("dlq_record")
# What a CRM / agent-desktop consumer reads live.
LIVE_TOPICS: tuple[Topic, ...] = (SUGGESTIONS, ALERTS)
