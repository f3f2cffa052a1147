"""The local runner: the coaching core over an iterator of raw records, with in-memory state.

It drives `CoachingCore.on_keyed` / `on_reference` exactly as the Flink operator does, with a dict
per conversation for keyed state and one dict for broadcast reference data, so unit tests,
`cuecard score`, the evaluation and replay-compare run the job's logic without a cluster. Records
are processed in the order given (in the job, reference and keyed topics interleave as they arrive).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from udfs.envelopes import Outcome, RawRecord
from udfs.stages import KINDS, CoachingCore, ConversationStore
from udfs.topics import ALERTS, AUDIT, DLQ, SUGGESTIONS, Topic

KEYED_TOPICS = frozenset(topic for topic, (kind, _) in KINDS.items() if kind in ("turn", "feedback"))


class _Cell:
    """One value of keyed state."""

    def __init__(self) -> None:
        self._value: Any = None

    def value(self) -> Any:
        return self._value

    def update(self, value: Any) -> None:
        self._value = value


class _Map(dict[str, Any]):
    """A dict with MapState's `put`."""

    def put(self, key: str, value: Any) -> None:
        self[key] = value


@dataclass
class LocalRunner:
    """Runs records through one `CoachingCore`; `conversations` and `reference` are inspectable state."""

    core: CoachingCore
    conversations: dict[str, ConversationStore] = field(default_factory=dict)
    reference: _Map = field(default_factory=_Map)

    def store(self, key: str) -> ConversationStore:
        """The keyed state of one conversation (created empty on first use)."""
        found = self.conversations.get(key)
        if found is None:
            found = self.conversations[key] = ConversationStore(_Cell(), _Map())
        return found

    def feed(self, raw: RawRecord) -> Outcome:
        """Process one record, as the job's `coach` and then `deepen` operators would, as one outcome."""
        if raw.topic not in KEYED_TOPICS:
            return self.core.on_reference(raw, self.reference)
        outcome = self.core.on_keyed(raw, self.store(routing_key(raw)), self.reference)
        for request in outcome.deep:
            outcome = outcome.then(self.core.on_deep(request))
        return outcome

    def run(self, records: Iterable[RawRecord]) -> Iterator[Outcome]:
        """Process records in order, yielding each one's outcome."""
        for raw in records:
            yield self.feed(raw)


def routing_key(raw: RawRecord) -> str:
    """What the job keys a turn or feedback record by: its conversation_id (see `jobs.kafka_io`).

    The job extracts it on the Java side with JSON_VALUE; a record it cannot read falls back to the
    Kafka key, then to "" (such a record is rejected by `ingest` anyway).
    """
    import json

    try:
        value = json.loads(raw.value)
        if isinstance(value, dict) and isinstance(value.get("conversation_id"), str):
            return str(value["conversation_id"])
    except ValueError:
        pass
    return raw.key.decode("utf-8", "replace") if raw.key is not None else ""


def outputs_by_topic(outcome: Outcome) -> Iterator[tuple[Topic, Mapping[str, Any]]]:
    """Every output record of an outcome with the topic the job writes it to, in the job's topic order."""
    for topic, values in (
        (SUGGESTIONS, outcome.suggestions),
        (ALERTS, outcome.alerts),
        (AUDIT, outcome.audit),
        (DLQ, outcome.dlq),
    ):
        for value in values:
            yield topic, value
