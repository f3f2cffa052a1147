"""The coaching job's Python operators: Flink state I/O around `udfs.stages.CoachingCore`, and emission.

`CoachTurns` is keyed by conversation. Turns and feedback arrive on the keyed side; customer context,
agent state and policies on the broadcast side. Every input yields at most one output row, carrying
its suggestions, alerts, audit and DLQ records as arrays: the Java side fans them out to the topics
(`jobs.kafka_io.fan_out`), because each Python-to-Java emission costs more than the work behind it.
A coached customer turn's request for the deep tier goes to the `DEEP_REQUESTS` side output, which
`DeepenTurns` answers with rows of the same shape, in a task of its own so the next turn's fast path
does not wait for it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import orjson
from pyflink.common import Row, Types
from pyflink.common.time import Time
from pyflink.datastream import OutputTag, RuntimeContext
from pyflink.datastream.functions import KeyedBroadcastProcessFunction, ProcessFunction
from pyflink.datastream.state import MapStateDescriptor, StateTtlConfig, ValueStateDescriptor

from udfs.settings import Settings

OUTPUT_FIELDS = ("suggestions", "alerts", "audit", "dlq")
COUNTERS = (
    "turns",
    "suggestions_shown",
    "suggestions_blocked",
    "alerts",
    "degraded",
    "feedback",
    "failed",
    "dlq",
    "redelivered",
)
DEEP_COUNTERS = ("deep_turns", "deep_updates", "deep_late", "deep_shed", "deep_failed", "degraded")


# Type infos and descriptors are built on demand: module-level ones that touched the JVM cannot be
# pickled into the job (see shared/architecture.md).
def output_type() -> Any:
    """One row per input: message key, then one array of JSON strings per output topic."""
    return Types.ROW_NAMED(
        ["k", *OUTPUT_FIELDS], [Types.STRING(), *(Types.BASIC_ARRAY(Types.STRING()) for _ in OUTPUT_FIELDS)]
    )


def deep_requests() -> OutputTag:
    """The side output of `coach`: one JSON DeepRequest per customer turn with cards to improve."""
    return OutputTag("deep-requests", Types.STRING())


def reference_descriptor() -> MapStateDescriptor:
    """Broadcast state: `customer:<id>`, `agent:<id>` and the active `policy`, masked."""
    return MapStateDescriptor("reference", Types.STRING(), Types.PICKLED_BYTE_ARRAY())


def _ttl(minutes: int) -> StateTtlConfig:
    # Idle conversations expire; the TTL is refreshed by every turn.
    return StateTtlConfig.new_builder(Time.minutes(minutes)).build()


def import_runtime_modules() -> None:
    """Import what the operator uses once per TaskManager process, one thread at a time.

    In thread mode every Python operator runs in a JVM thread of one embedded interpreter; two of
    them importing C extensions at the same moment (a replay beside the live job) deadlocked on the
    import lock. Serialising the first imports avoids it.
    """
    lock = sys.__dict__.setdefault("_cuecard_import_lock", threading.Lock())
    with lock:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401

        import udfs.stages  # noqa: F401
        from udfs.validation import load_validators

        load_validators()


def _epoch_millis(instant: Any) -> int:
    # Thread mode hands over the java.time.Instant itself; process mode converts it to a datetime.
    if instant is None:
        return 0
    if hasattr(instant, "toEpochMilli"):
        return int(instant.toEpochMilli())
    return int(instant.timestamp() * 1000)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _rows(outcome: Any, counters: dict[str, Any]) -> Any:
    """Move the counters; yield the outcome's one output row if it has any output."""
    for name, count in outcome.counts.items():
        counter = counters.get(name)
        if counter is not None and count:
            counter.inc(count)
    if outcome.suggestions or outcome.alerts or outcome.audit or outcome.dlq:
        yield Row(
            outcome.key,
            [_dumps(s) for s in outcome.suggestions],
            [_dumps(a) for a in outcome.alerts],
            [_dumps(a) for a in outcome.audit],
            [_dumps(d) for d in outcome.dlq],
        )


class CoachTurns(KeyedBroadcastProcessFunction):
    """Keyed by conversation: ingest, join, coach (all in `CoachingCore`); state with a TTL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, runtime_context: RuntimeContext) -> None:
        """Open the models and the response library; create conversation state with a TTL."""
        import_runtime_modules()
        from udfs.envelopes import RawRecord
        from udfs.stages import CoachingCore, ConversationStore

        self.raw_record = RawRecord
        self.core = CoachingCore.load(self.settings, open_deep=False)
        self.deep_tag = deep_requests()
        conversation = ValueStateDescriptor("conversation", Types.PICKLED_BYTE_ARRAY())
        conversation.enable_time_to_live(_ttl(self.settings.conversation_ttl_minutes))
        shown = MapStateDescriptor("shown_suggestions", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
        shown.enable_time_to_live(_ttl(self.settings.conversation_ttl_minutes))
        self.store = ConversationStore(runtime_context.get_state(conversation), runtime_context.get_map_state(shown))
        metrics = runtime_context.get_metrics_group()
        self.counters = {name: metrics.counter(name) for name in COUNTERS}

    def _raw(self, row: Row) -> Any:
        return self.raw_record(
            topic=row["topic"],
            partition=row["partition"],
            offset=row["offset"],
            timestamp_ms=_epoch_millis(row["ts"]),
            key=bytes(row["k"]) if row["k"] is not None else None,
            value=bytes(row["v"]) if row["v"] is not None else b"",
        )

    def _emit(self, outcome: Any) -> Any:
        yield from _rows(outcome, self.counters)
        for request in outcome.deep:
            yield self.deep_tag, _dumps(request)

    def process_element(self, value: Row, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext) -> Any:
        """A turn or a feedback record of this conversation."""
        reference = ctx.get_broadcast_state(reference_descriptor())
        yield from self._emit(self.core.on_keyed(self._raw(value), self.store, reference))

    def process_broadcast_element(self, value: Row, ctx: KeyedBroadcastProcessFunction.Context) -> Any:
        """Customer context, agent state or a policy: applies from the next turn on."""
        reference = ctx.get_broadcast_state(reference_descriptor())
        yield from self._emit(self.core.on_reference(self._raw(value), reference))


class DeepenTurns(ProcessFunction):
    """The deep tier's updates of coached turns (`udfs.deep_stage`); stateless, so it needs no key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, runtime_context: RuntimeContext) -> None:
        """Open the deep ranker (and the small fast models the core carries)."""
        import_runtime_modules()
        from udfs.stages import CoachingCore

        self.core = CoachingCore.load(self.settings)
        metrics = runtime_context.get_metrics_group()
        self.counters = {name: metrics.counter(name) for name in DEEP_COUNTERS}

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Any:
        """One DeepRequest as JSON."""
        yield from _rows(self.core.on_deep(orjson.loads(value)), self.counters)
