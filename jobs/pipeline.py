"""The coaching pipeline, defined once: `build_pipeline(inputs) -> Outputs`.

Sources and sinks are injected, so the live job (Kafka in, Kafka out), replay and the tests
(`from_collection` in, `execute_and_collect` out) run exactly the same operators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyflink.common import Row, Types
from pyflink.datastream import DataStream, KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor


def input_type_info() -> Any:
    """The row every source provides: Kafka provenance plus raw key and value bytes."""
    return Types.ROW_NAMED(
        ["topic", "partition", "offset", "ts", "k", "v"],
        [
            Types.STRING(),
            Types.INT(),
            Types.LONG(),
            Types.INSTANT(),
            Types.PRIMITIVE_ARRAY(Types.BYTE()),
            Types.PRIMITIVE_ARRAY(Types.BYTE()),
        ],
    )


def output_type_info() -> Any:
    """The row every sink takes: message key and JSON value."""
    return Types.ROW_NAMED(["k", "v"], [Types.STRING(), Types.STRING()])


@dataclass(frozen=True)
class Outputs:
    """The pipeline's output streams, one per sink."""

    suggestions: DataStream


class CountTurns(KeyedProcessFunction):
    """Keyed pass-through: echoes each turn with how many turns its conversation has had."""

    def open(self, runtime_context: RuntimeContext) -> None:
        """Create the per-conversation counter."""
        self.turns = runtime_context.get_state(ValueStateDescriptor("turns", Types.LONG()))

    def process_element(self, value: Any, ctx: KeyedProcessFunction.Context) -> Any:
        """Count the turn and emit it keyed by conversation."""
        seen = (self.turns.value() or 0) + 1
        self.turns.update(seen)
        event = value[1]
        yield Row(
            event["conversation_id"],
            json.dumps(
                {
                    "conversation_id": event["conversation_id"],
                    "event_id": event.get("event_id"),
                    "turns_seen": seen,
                }
            ),
        )


def _decode(row: Row) -> tuple[str, dict]:
    event = json.loads(bytes(row["v"]).decode("utf-8"))
    return event["conversation_id"], event


def build_pipeline(inputs: DataStream) -> Outputs:
    """Wire the operators between the injected input stream and the outputs."""
    turns = (
        inputs.filter(lambda row: row["topic"] == "conversation.events")
        .name("only-turns")
        .uid("only-turns")
        .map(_decode)
        .name("decode")
        .uid("decode")
    )
    suggestions = (
        turns.key_by(lambda pair: pair[0], key_type=Types.STRING())
        .process(CountTurns(), output_type=output_type_info())
        .name("count-turns")
        .uid("count-turns")
    )
    return Outputs(suggestions=suggestions)
