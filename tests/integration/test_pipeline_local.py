"""`build_pipeline` itself in a local Flink environment: collections in, the coach's rows collected out.

The input tables the job declares over Kafka are stood in for by views of the same names over
literal rows, so the same queries, Java-side keying, broadcast connect and output row are exercised
without the standalone cluster; the cluster tests cover Kafka in and out.
"""

import json
import os
import sys
import sysconfig
from datetime import UTC, datetime

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import DataTypes, StreamTableEnvironment

from jobs.generator import CANARIES
from jobs.kafka_io import KEYED_TABLE, REFERENCE_TABLE
from jobs.pipeline import build_pipeline, input_streams
from udfs.records import load_policy_file
from udfs.settings import PROJECT_ROOT, load_settings


def _raw(topic, offset, value):
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    # PyFlink's BYTES literals are bytearrays.
    return (topic, 0, offset, datetime.now(tz=UTC), None, bytearray(data))


def _view(t_env, name, rows):
    schema = DataTypes.ROW(
        [
            DataTypes.FIELD("topic", DataTypes.STRING()),
            DataTypes.FIELD("partition", DataTypes.INT()),
            DataTypes.FIELD("offset", DataTypes.BIGINT()),
            DataTypes.FIELD("ts", DataTypes.TIMESTAMP_LTZ(3)),
            DataTypes.FIELD("k", DataTypes.BYTES()),
            DataTypes.FIELD("v", DataTypes.BYTES()),
        ]
    )
    t_env.create_temporary_view(name, t_env.from_elements(rows, schema))


def _turn(seq, text, speaker="customer"):
    return {
        "event_id": f"conv-local-{seq:03d}",
        "conversation_id": "conv-local",
        "seq": seq,
        "ts": "2026-11-25T09:00:00.000Z",
        "channel": "chat",
        "speaker": speaker,
        "text": text,
        "customer_id": "cust-local",
        "agent_id": "agent-local",
        "schema_version": 1,
    }


def test_build_pipeline_runs_the_core_in_a_local_environment():
    config = Configuration()
    config.set_string("python.execution-mode", "thread")
    # The Python workers must be this venv's interpreter, not whatever `python` is on PATH.
    config.set_string("python.executable", sys.executable)
    # Thread mode embeds the interpreter in the JVM, which does not activate the venv.
    config.set_string("python.pythonpath", os.pathsep.join([sysconfig.get_paths()["purelib"], str(PROJECT_ROOT)]))
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    turns = [
        _turn(0, f"hi, my card is {CANARIES['card_visa']} and I want a refund"),
        _turn(1, "thanks, I will check that refund for you", speaker="agent"),
        # Later turns find the policy in broadcast state (the first may be coached before it arrives).
        _turn(2, "it was for the order I returned last week, I would like my money back please"),
        _turn(3, "can you tell me when the refund will reach my account?"),
    ]
    t_env = StreamTableEnvironment.create(env)
    _view(
        t_env,
        KEYED_TABLE,
        [_raw("conversation.events", i, t) for i, t in enumerate(turns)]
        + [_raw("conversation.events", 9, b"{not json")],
    )
    _view(
        t_env,
        REFERENCE_TABLE,
        [
            _raw("coaching.policies", 0, load_policy_file(1)),
            _raw("customer.context", 1, {"schema_version": 1}),  # no customer_id: the key it is stored by
        ],
    )
    settings = load_settings().with_overrides(deep_tier=True)
    rows = list(build_pipeline(*input_streams(t_env), settings).execute_and_collect())

    audit = [json.loads(a) for row in rows for a in row["audit"]]
    dlq = [json.loads(d) for row in rows for d in row["dlq"]]
    turn_records = sorted((a for a in audit if a["record_type"] == "turn"), key=lambda a: a["seq"])
    assert [a["event_id"] for a in turn_records] == [f"conv-local-00{i}" for i in range(4)]
    assert turn_records[0]["masked_text"].startswith("hi, my card is [CARD_LAST4:1111]")
    # Both invalid inputs are dead-lettered with their reason: a keyed turn and a broadcast context.
    sources = sorted((d["source"]["topic"], d["error_type"]) for d in dlq)
    assert sources == [("conversation.events", "json"), ("customer.context", "missing_field")]
    assert all(row["k"] == "conv-local" for row in rows if row["audit"])
    assert CANARIES["card_visa"] not in json.dumps([list(r) for r in rows])
    # The deepen operator answered every customer turn that showed a reply or knowledge card: its
    # candidates are audited on the fast card's slot and name the card they would replace.
    suggestions = [a for a in audit if a["record_type"] == "suggestion"]
    deep = [a for a in suggestions if a["supersedes"]]  # ranked, confirmed or shed: each names its fast card
    fast = {a["slot_id"]: a for a in suggestions if a["status"] == "shown" and a["kind"] in ("reply", "knowledge")}
    fast = {slot: a for slot, a in fast.items() if not a["supersedes"]}
    assert fast, "no customer turn showed a library card"
    assert {a["slot_id"] for a in deep} == set(fast)
    assert all(a["supersedes"] == fast[a["slot_id"]]["suggestion_id"] for a in deep)
