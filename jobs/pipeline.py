"""The coaching pipeline, defined once: `build_pipeline(keyed, reference, settings) -> coached rows`.

Sources and sinks are injected, so the live job (Kafka in, Kafka out), replay and the tests
(`from_collection` in, collected out) run exactly the same operator:

    turns, feedback (keyed by conversation, on the Java side) ──────────────┐
    customer context, agent state, policies ── broadcast ──────────────────►┴─ coach ─┬──────────► rows
                                                      deep requests (side output) └─ deepen ─┘
                                                                   (k, suggestions[], alerts[], audit[], dlq[])

The keyed input carries rows of (conversation key, raw row): the key is computed by the source
query (`jobs.kafka_io.KEYED_QUERY`, read by `input_streams`), so no Python key selector runs; each one would be a Python
operator of its own, costing a Java-Python round trip per record.
"""

from __future__ import annotations

from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream, KeyedStream, OutputTag
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment

from jobs.kafka_io import KEYED_QUERY, REFERENCE_QUERY
from jobs.operators import CoachTurns, DeepenTurns, deep_requests, output_type, reference_descriptor
from udfs.settings import Settings


def raw_type() -> Any:
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


def keyed_type() -> Any:
    """The keyed input: the conversation key, then the raw row."""
    return Types.ROW_NAMED(["route_key", "raw"], [Types.STRING(), raw_type()])


def keyed_by_first_field(stream: DataStream) -> KeyedStream:
    """Key a stream of (key, value) rows on the Java side, as PyFlink's own key_by does after its map."""
    gateway = get_gateway()
    j_keyed = stream._j_data_stream.keyBy(  # noqa: SLF001 - PyFlink offers no public Java-side key_by
        gateway.jvm.org.apache.flink.streaming.api.functions.python.KeyByKeySelector(),
        Types.ROW([Types.STRING()]).get_java_type_info(),
    )
    return KeyedStream(j_keyed, raw_type(), stream)


def side_output(stream: DataStream, tag: OutputTag) -> DataStream:
    """A side output as the Java side has it, with no Python operator in between.

    PyFlink's `get_side_output` adds an identity Python map: one more Java-Python round trip per
    record, for nothing when the tag's type is already a string.
    """
    return DataStream(stream._j_data_stream.getSideOutput(tag.get_java_output_tag()))  # noqa: SLF001


def input_streams(t_env: StreamTableEnvironment) -> tuple[DataStream, DataStream]:
    """The keyed and the reference input streams from the tables `jobs.kafka_io` declares (or tests stand in).

    `to_append_stream` with explicit row types, because the embedded keyed Python operator needs a
    plain RowTypeInfo where `to_data_stream` would give the table's ExternalTypeInfo.
    """
    keyed = t_env.to_append_stream(t_env.sql_query(KEYED_QUERY), keyed_type())
    reference = t_env.to_append_stream(t_env.sql_query(REFERENCE_QUERY), raw_type())
    return keyed, reference


def build_pipeline(keyed: DataStream, reference: DataStream, settings: Settings) -> DataStream:
    """Wire the coaching operators between the injected inputs and their output rows."""
    coached = (
        keyed_by_first_field(keyed)
        .connect(reference.broadcast(reference_descriptor()))
        .process(CoachTurns(settings), output_type=output_type())
        .name("coach")
        .uid("coach")
    )
    if not settings.deep_tier:
        return coached
    # A chain of its own: the deep tier runs in another task while `coach` takes the next turn.
    deepened = (
        side_output(coached, deep_requests())
        .process(DeepenTurns(settings), output_type=output_type())
        .name("deepen")
        .uid("deepen")
        .start_new_chain()
    )
    return coached.union(deepened)
