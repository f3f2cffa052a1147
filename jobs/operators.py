"""Thin Flink wrappers around the pure per-record functions in `udfs/`.

Each operator opens its resources (validators, ONNX sessions, the response library) in `open()`,
keeps only masked data in state, and turns the pure functions' results into keyed output rows.
Side outputs carry what is not a live suggestion: the DLQ, alerts and audit records.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from pyflink.common import Row, Types
from pyflink.common.time import Time
from pyflink.datastream import KeyedCoProcessFunction, OutputTag, ProcessFunction, RuntimeContext
from pyflink.datastream.functions import KeyedBroadcastProcessFunction
from pyflink.datastream.state import MapStateDescriptor, StateTtlConfig, ValueStateDescriptor

from cuecard.settings import Settings


# Type infos, tags and descriptors are built on demand: module-level ones that touched the JVM
# cannot be pickled into the job (see shared/architecture.md).
def row_type() -> Any:
    """Every output row: message key and JSON value."""
    return Types.ROW_NAMED(["k", "v"], [Types.STRING(), Types.STRING()])


def envelope_type() -> Any:
    """Between Python operators: a pickled dict."""
    return Types.PICKLED_BYTE_ARRAY()


def tag(name: str) -> OutputTag:
    """Side outputs by name: dlq/audit/alerts carry rows; customer/reference/feedback carry envelopes."""
    return OutputTag(name, row_type() if name in ("dlq", "audit", "alerts") else envelope_type())


def reference_descriptor() -> MapStateDescriptor:
    """Broadcast state: agent states by `agent:<id>` and the active policy under `policy`."""
    return MapStateDescriptor("reference", Types.STRING(), Types.PICKLED_BYTE_ARRAY())


def _ttl(minutes: int) -> StateTtlConfig:
    # Idle conversations expire; the TTL is refreshed by every turn.
    return StateTtlConfig.new_builder(Time.minutes(minutes)).build()


def import_runtime_modules() -> None:
    """Import what the operators use, once per TaskManager process and one operator at a time.

    In thread mode every Python operator runs in its own JVM thread of one embedded interpreter; two
    operators importing C extensions at the same moment (jsonschema's dependencies in one,
    onnxruntime in another) deadlocked on the import lock. Serialising the first imports avoids it.
    """
    lock = sys.__dict__.setdefault("_cuecard_import_lock", threading.Lock())
    with lock:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401

        import udfs.envelopes  # noqa: F401
        import udfs.turn_processing  # noqa: F401
        from udfs.validation import load_validators

        load_validators()


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _epoch_millis(instant: Any) -> int:
    # Thread mode hands over the java.time.Instant itself; process mode converts it to a datetime.
    if instant is None:
        return 0
    if hasattr(instant, "toEpochMilli"):
        return int(instant.toEpochMilli())
    return int(instant.timestamp() * 1000)


class ValidateAndMask(ProcessFunction):
    """Decode and validate every input record; invalid ones go to the DLQ, valid text is masked at once."""

    def __init__(self, settings: Settings) -> None:
        self.max_event_bytes = settings.max_event_bytes

    def open(self, runtime_context: RuntimeContext) -> None:
        """Compile the schema validators once."""
        import_runtime_modules()
        from udfs.envelopes import route_input

        self.route = route_input

    def process_element(self, value: Row, ctx: ProcessFunction.Context) -> Any:
        """Route one raw Kafka record."""
        timestamp_ms = _epoch_millis(value["ts"])
        routed = self.route(
            raw=bytes(value["v"]) if value["v"] is not None else b"",
            key=bytes(value["k"]) if value["k"] is not None else None,
            topic=value["topic"],
            partition=value["partition"],
            offset=value["offset"],
            timestamp_ms=timestamp_ms,
            max_bytes=self.max_event_bytes,
        )
        if routed.kind == "dlq":
            yield tag("dlq"), Row(routed.key, _json(routed.payload))
        elif routed.kind == "turn":
            yield routed.payload
        else:
            yield tag(routed.kind), routed.payload


class JoinCustomer(KeyedCoProcessFunction):
    """Keyed by customer: each turn takes the latest customer context seen (as of processing time)."""

    def open(self, runtime_context: RuntimeContext) -> None:
        """Create the per-customer context state."""
        import_runtime_modules()
        self.customer = runtime_context.get_state(ValueStateDescriptor("customer", Types.PICKLED_BYTE_ARRAY()))

    def process_element1(self, value: dict, ctx: KeyedCoProcessFunction.Context) -> Any:
        """A turn: attach the context, or flag it missing."""
        value["customer"] = self.customer.value()
        value["stamps"]["joined"] = time.time()
        yield value

    def process_element2(self, value: dict, ctx: KeyedCoProcessFunction.Context) -> Any:
        """A customer context update (already masked)."""
        self.customer.update(value["record"])
        return iter(())


class Coach(KeyedBroadcastProcessFunction):
    """Keyed by conversation: scores the turn, applies the active policy and emits coaching."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def open(self, runtime_context: RuntimeContext) -> None:
        """Load the scorers and the response library; create conversation state with a TTL."""
        import_runtime_modules()
        from udfs.turn_processing import TurnProcessor

        self.processor = TurnProcessor.load(self.settings)
        conversation = ValueStateDescriptor("conversation", Types.PICKLED_BYTE_ARRAY())
        conversation.enable_time_to_live(_ttl(self.settings.conversation_ttl_minutes))
        self.conversation = runtime_context.get_state(conversation)
        shown = MapStateDescriptor("shown_suggestions", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
        shown.enable_time_to_live(_ttl(self.settings.conversation_ttl_minutes))
        self.shown = runtime_context.get_map_state(shown)
        metrics = runtime_context.get_metrics_group()
        self.counters = {
            name: metrics.counter(name)
            for name in (
                "turns",
                "suggestions_shown",
                "suggestions_blocked",
                "alerts",
                "degraded",
                "feedback",
                "failed",
            )
        }

    def process_element(self, value: dict, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext) -> Any:
        """A masked turn (with its customer context) or an agent feedback record."""
        key = value["conversation_id"]
        try:
            outcome = self._process(value, ctx)
        except Exception as err:  # noqa: BLE001 - park the record in the DLQ rather than restart forever
            from udfs.envelopes import processing_failure

            self.counters["failed"].inc()
            yield tag("dlq"), Row(key, _json(processing_failure(value, err, "coach")))
            return
        key = value["conversation_id"]
        for suggestion in outcome.suggestions:
            yield Row(key, _json(suggestion))
        for alert in outcome.alerts:
            yield tag("alerts"), Row(key, _json(alert))
        for record in outcome.audit:
            yield tag("audit"), Row(key, _json(record))

    def _process(self, value: dict, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext) -> Any:
        reference = ctx.get_broadcast_state(reference_descriptor())
        if value["type"] == "feedback":
            self.counters["feedback"].inc()
            return self.processor.feedback(value, self.shown.get(value["record"]["suggestion_id"]))
        agent = reference.get(f"agent:{value['record']['agent_id']}")
        outcome = self.processor.turn(value, self.conversation.value(), agent, reference.get("policy"))
        # State changes only after the turn was fully processed, so a failure leaves it untouched.
        self.conversation.update(outcome.state)
        for suggestion_id, summary in outcome.shown_index.items():
            self.shown.put(suggestion_id, summary)
        self.counters["turns"].inc()
        self.counters["suggestions_shown"].inc(len(outcome.suggestions))
        self.counters["suggestions_blocked"].inc(outcome.blocked)
        self.counters["alerts"].inc(len(outcome.alerts))
        self.counters["degraded"].inc(1 if outcome.degraded else 0)
        return outcome

    def process_broadcast_element(self, value: dict, ctx: KeyedBroadcastProcessFunction.Context) -> Any:
        """An agent state or policy update: applies from the next turn on."""
        from udfs.envelopes import newer_policy

        reference = ctx.get_broadcast_state(reference_descriptor())
        record = value["record"]
        if value["type"] == "agent":
            reference.put(f"agent:{record['agent_id']}", record)
        elif newer_policy(reference.get("policy"), record):
            reference.put("policy", record)
        return iter(())
