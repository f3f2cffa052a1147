"""The coaching pipeline, defined once: `build_pipeline(inputs, settings) -> Outputs`.

Sources and sinks are injected, so the live job (Kafka in, Kafka out), replay and the tests
(`from_collection` in, `execute_and_collect` out) run exactly the same operators:

    raw records ─ validate-and-mask ─┬─ dlq
                                     ├─ turns ── key by customer ─ join-customer ─┐
                                     ├─ customer context ─ key by customer ───────┘
                                     ├─ feedback ────────────────────────────────┐│
                                     └─ agent state, policies ─ broadcast ─┐      ▼▼
                                                                          coach (key by conversation)
                                                                   suggestions │ alerts │ audit

Agent state travels with the policies as broadcast state rather than through a third keyed join:
agents are a bounded, small set, and every Python key-by costs a Python operator per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream

from cuecard.settings import Settings
from jobs.operators import Coach, JoinCustomer, ValidateAndMask, envelope_type, reference_descriptor, row_type, tag


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


@dataclass(frozen=True)
class Outputs:
    """The pipeline's output streams, one per sink topic; each carries rows of (key, JSON value)."""

    suggestions: DataStream
    alerts: DataStream
    audit: DataStream
    dlq: DataStream


def _customer_key(envelope: dict) -> str:
    return str(envelope["customer_id"])


def _conversation_key(envelope: dict) -> str:
    return str(envelope["conversation_id"])


def build_pipeline(inputs: DataStream, settings: Settings) -> Outputs:
    """Wire the operators between the injected input stream and the outputs."""
    routed = (
        inputs.process(ValidateAndMask(settings), output_type=envelope_type())
        .name("validate-and-mask")
        .uid("validate-and-mask")
    )
    customers = routed.get_side_output(tag("customer")).key_by(_customer_key, key_type=Types.STRING())
    joined = (
        routed.key_by(_customer_key, key_type=Types.STRING())
        .connect(customers)
        .process(JoinCustomer(), output_type=envelope_type())
        .name("join-customer")
        .uid("join-customer")
    )
    coached = (
        joined.union(routed.get_side_output(tag("feedback")))
        .key_by(_conversation_key, key_type=Types.STRING())
        .connect(routed.get_side_output(tag("reference")).broadcast(reference_descriptor()))
        .process(Coach(settings), output_type=row_type())
        .name("coach")
        .uid("coach")
    )
    return Outputs(
        suggestions=coached,
        alerts=coached.get_side_output(tag("alerts")),
        audit=coached.get_side_output(tag("audit")),
        dlq=routed.get_side_output(tag("dlq")).union(coached.get_side_output(tag("dlq"))),
    )
