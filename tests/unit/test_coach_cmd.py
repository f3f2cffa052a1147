"""`cuecard coach`: feed lines through the local runner, outputs printed, bad lines reported."""

import io
import json

import pytest

from cuecard.coach_cmd import coach_lines
from udfs.records import load_policy_file
from udfs.settings import load_settings
from udfs.stages import CoachingCore


@pytest.fixture(scope="module")
def core():
    from models.build import build, default_cache_dir

    build(default_cache_dir(), report=False)
    return CoachingCore.load(load_settings({}).with_overrides(deep_tier=False))


def _line(topic, value):
    return json.dumps({"topic": topic, "key": None, "value": value}) + "\n"


TURN = {
    "event_id": "conv-c-000",
    "conversation_id": "conv-c",
    "seq": 0,
    "ts": "2026-11-25T09:00:00.000Z",
    "channel": "chat",
    "speaker": "customer",
    "text": "I want my money back for the broken headphones",
    "customer_id": "cust-c",
    "agent_id": "agent-c",
    "schema_version": 1,
}


def test_suggestions_are_printed_and_a_bad_line_is_reported_by_number(core):
    lines = io.StringIO(
        _line("coaching.policies", load_policy_file(1)) + "not json\n" + _line("conversation.events", TURN)
    )
    out, err = io.StringIO(), io.StringIO()
    assert coach_lines(core, lines, out, err, as_json=False) == 1
    printed = out.getvalue().splitlines()
    assert printed and all(line.startswith("suggestion conv-c") for line in printed)
    assert "line 2: not a feed record" in err.getvalue()
    assert "turns 1" in err.getvalue()


def test_json_output_names_every_topic_including_audit(core):
    lines = io.StringIO(_line("coaching.policies", load_policy_file(1)) + _line("conversation.events", TURN))
    out = io.StringIO()
    assert coach_lines(core, lines, out, io.StringIO(), as_json=True) == 0
    topics = {json.loads(line)["topic"] for line in out.getvalue().splitlines()}
    assert {"coaching.suggestions", "coaching.audit"} <= topics
