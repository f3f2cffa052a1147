"""The coaching job on the real Flink cluster, fed and read through the real broker."""

import base64
import json
import os
import signal
import threading
import time
import uuid

import pytest

from auditlake.query import run_named, run_sql
from auditlake.writer import WriterConfig, run_writer
from cuecard import flink_jobs, stack
from cuecard.replay_cmd import compare_audits, start_replay
from jobs.generator import CANARIES
from tests.integration.kafka_helpers import produce, produce_raw, read_until, turn
from udfs.records import load_policy_file

POLICY_V1 = load_policy_file(1)
POLICY_V2 = load_policy_file(2)


def _reference_items():
    return [
        {"topic": "coaching.policies", "key": POLICY_V1["policy_id"], "value": POLICY_V1},
        {
            "topic": "agent.state",
            "key": "agent-it-1",
            "value": {
                "agent_id": "agent-it-1",
                "updated_at": "2026-11-25T08:00:00.000Z",
                "status": "on_call",
                "schema_version": 1,
                "team": "billing",
                "supervisor_id": "sup-1",
                "experience": "senior",
            },
        },
        {
            "topic": "customer.context",
            "key": "cust-it-1",
            "value": {
                "customer_id": "cust-it-1",
                "updated_at": "2026-11-25T08:00:00.000Z",
                "schema_version": 1,
                "name": "Jane Canary",
                "email": CANARIES["email"],
                "tier": "gold",
                "vulnerable": False,
                "notes": f"prefers email {CANARIES['email']}",
            },
        },
    ]


def _suggestions_for(settings, event_id, timeout=60.0, kind=None):
    """The turn's published cards, once one (of `kind`, if given) has arrived."""
    records = read_until(
        settings,
        "coaching.suggestions",
        lambda rs: any(r["event_id"] == event_id and kind in (None, r["kind"]) for r in rs),
        timeout=timeout,
    )
    return [r for r in records if r["event_id"] == event_id]


@pytest.fixture(scope="module")
def coaching(flink_settings):
    """The coaching job running with reference data applied (checked by a probe turn)."""
    job_id = flink_jobs.submit(flink_settings)
    flink_jobs.wait_running(flink_settings, job_id)
    produce(flink_settings, _reference_items())
    deadline = time.monotonic() + 90
    probe = 0
    while True:
        probe += 1
        event = turn("conv-probe", probe, "customer", "I want my money back for this order")
        produce(flink_settings, [event])
        shown = _suggestions_for(flink_settings, event["value"]["event_id"])
        if all(not rule.startswith("context.missing") for s in shown for rule in s["rules_fired"]):
            break
        assert time.monotonic() < deadline, f"reference data never reached the job: {shown[0]['rules_fired']}"
        time.sleep(1)
    yield flink_settings, job_id
    flink_jobs.cancel(flink_settings, job_id)


def test_known_conversation_gets_expected_coaching_and_no_pii_leaks(coaching):
    settings, _ = coaching
    card, email = CANARIES["card_visa"], CANARIES["email"]
    items = [
        turn(
            "conv-known",
            0,
            "customer",
            f"I want a refund for the headphones I sent back, please give me my money back. My card is {card}, "
            f"email me at {email}",
        ),
        turn("conv-known", 1, "agent", "I guarantee you will get the money back tomorrow."),
    ]
    produce(settings, items)
    shown = _suggestions_for(settings, "conv-known-000", kind="reply")
    replies = [s for s in shown if s["kind"] == "reply"]
    assert replies and replies[0]["template_id"].startswith("refund_request.")
    assert all(s["policy_version"] == POLICY_V1["version"] for s in shown)
    assert all(s["model_versions"]["intent"] for s in shown)
    assert set(shown[0]["latency_ms"]) >= {"queue", "validate_mask", "join", "score_fast", "coach", "total"}

    alerts = read_until(settings, "coaching.alerts", lambda rs: any(a["event_id"] == "conv-known-001" for a in rs))
    promise = [a for a in alerts if a["event_id"] == "conv-known-001"]
    assert any(a["alert_type"] == "forbidden_phrase" for a in promise)

    audit = read_until(
        settings,
        "coaching.audit",
        lambda rs: {"conv-known-000", "conv-known-001"} <= {r["event_id"] for r in rs if r["record_type"] == "turn"},
        read_committed=True,
    )
    turns = {r["event_id"]: r for r in audit if r["record_type"] == "turn"}
    first = turns["conv-known-000"]
    assert "[CARD_LAST4:1111]" in first["masked_text"] and "[EMAIL]" in first["masked_text"]
    assert {"CARD", "EMAIL"} <= set(first["pii_types"])
    assert first["scores"]["intent"] == "refund_request"
    assert first["source"]["topic"] == "conversation.events"
    statuses = {r["status"] for r in audit if r["record_type"] == "suggestion" and r["event_id"] == "conv-known-000"}
    assert "shown" in statuses

    everything = json.dumps([shown, alerts, audit])
    for canary in (card, card.replace(" ", ""), email):
        assert canary not in everything


def test_bad_records_go_to_dlq_with_reasons_and_the_job_keeps_running(coaching):
    settings, job_id = coaching
    produce_raw(settings, "conversation.events", b"conv-bad", b'{"event_id": "broken"')
    produce_raw(settings, "conversation.events", b"conv-bad", b"\xff\xfe not utf-8")
    missing = turn("conv-bad", 0, "customer", "hello")
    del missing["value"]["speaker"]
    bad_enum = turn("conv-bad", 1, "customer", "hello", channel="fax")
    oversize = turn("conv-bad", 2, "customer", "x" * (settings.max_event_bytes + 10))
    produce(settings, [missing, bad_enum, oversize])
    good = turn("conv-after-bad", 0, "customer", "Where is my order? It has not arrived")
    produce(settings, [good])

    dlq = read_until(settings, "coaching.dlq", lambda rs: len(rs) >= 5)
    kinds = {r["error_type"] for r in dlq}
    assert {"json", "decode", "oversize"} <= kinds
    assert kinds & {"missing_field", "schema"} and kinds & {"enum", "schema"}
    for record in dlq:
        assert record["error"] and record["source"]["topic"] == "conversation.events"
        assert record["source"]["offset"] >= 0 and record["failed_at"].endswith("Z")
        assert base64.b64decode(record["raw_base64"])
    assert b"\xff\xfe not utf-8" in [base64.b64decode(r["raw_base64"]) for r in dlq]
    assert _suggestions_for(settings, "conv-after-bad-000")
    assert flink_jobs.job_state(settings, job_id) == "RUNNING"


def test_producers_retries_and_formats_are_met_through_the_broker(coaching):
    """Issue 10: a producer retry is coached and audited once; epoch-ms `ts` and the wire format are read."""
    settings, _ = coaching
    first = turn("conv-retry", 0, "customer", "I want a refund for my broken kettle")
    produce(settings, [first, first])  # the same event twice, as a producer retry sends it
    wire = turn("conv-retry", 1, "customer", "it was delivered on monday")
    wire["value"]["ts"] = 1764061200123
    framed = b"\x00\x00\x00\x00\x07" + json.dumps(wire["value"]).encode()  # Confluent magic byte + schema id 7
    produce_raw(settings, "conversation.events", b"conv-retry", framed)

    def both_audited(records):
        return {r["event_id"] for r in records if r["record_type"] == "turn"} >= {"conv-retry-000", "conv-retry-001"}

    audit = read_until(settings, "coaching.audit", both_audited, read_committed=True)
    turns = [r for r in audit if r["record_type"] == "turn" and r["conversation_id"] == "conv-retry"]
    assert sorted(r["event_id"] for r in turns) == ["conv-retry-000", "conv-retry-001"]
    wired = next(r for r in turns if r["event_id"] == "conv-retry-001")
    assert wired["event_ts"] == "2025-11-25T09:00:00.123Z" and wired["ingest_notes"]


def test_policy_update_applies_from_the_next_turn_and_is_recorded(coaching):
    settings, _ = coaching
    phrase = "completely free"  # forbidden by policy v2 only
    produce(settings, [turn("conv-policy-a", 0, "agent", f"The upgrade is {phrase} for you.")])
    audit = read_until(
        settings,
        "coaching.audit",
        lambda rs: any(r["event_id"] == "conv-policy-a-000" and r["record_type"] == "turn" for r in rs),
        read_committed=True,
    )
    first = next(r for r in audit if r["event_id"] == "conv-policy-a-000" and r["record_type"] == "turn")
    assert first["policy_version"] == POLICY_V1["version"]

    produce(settings, [{"topic": "coaching.policies", "key": POLICY_V2["policy_id"], "value": POLICY_V2}])
    deadline = time.monotonic() + 60
    seq = 0
    while True:
        event = turn("conv-policy-b", seq, "agent", f"Good news, the upgrade is {phrase}.")
        produce(settings, [event])
        event_id = event["value"]["event_id"]
        audit = read_until(
            settings,
            "coaching.audit",
            lambda rs, e=event_id: any(r["event_id"] == e and r["record_type"] == "turn" for r in rs),
            read_committed=True,
        )
        record = next(r for r in audit if r["event_id"] == event_id and r["record_type"] == "turn")
        if record["policy_version"] == POLICY_V2["version"]:
            break
        assert time.monotonic() < deadline, "policy v2 was never applied"
        seq += 1

    alerts = read_until(settings, "coaching.alerts", lambda rs: any(a["event_id"] == event_id for a in rs))
    forbidden = [a for a in alerts if a["event_id"] == event_id and a["alert_type"] == "forbidden_phrase"]
    assert forbidden and forbidden[0]["policy_version"] == POLICY_V2["version"]
    assert not [a for a in alerts if a["event_id"] == "conv-policy-a-000" and a["alert_type"] == "forbidden_phrase"]


def test_auditors_query_what_the_job_decided(coaching, tmp_path):
    settings, _ = coaching
    produce(settings, [turn("conv-audit", 0, "customer", "Where is my order? It still has not arrived")])
    shown = _suggestions_for(settings, "conv-audit-000")
    read_until(
        settings, "coaching.audit", lambda rs: any(r["event_id"] == "conv-audit-000" for r in rs), read_committed=True
    )
    root = tmp_path / "delta"
    config = WriterConfig(bootstrap=settings.bootstrap_servers, root=root, idle_exit=3.0, lineage=False).validate()
    assert run_writer(config, out=lambda line: None) == 0

    rows = run_named(root, "conversation_shown", {"conversation_id": "conv-audit"}).to_pylist()
    assert {r["suggestion_id"] for r in rows} == {s["suggestion_id"] for s in shown}
    assert all(r["turn_text"] == "Where is my order? It still has not arrived" for r in rows)
    why = run_named(root, "why_suggestion", {"suggestion_id": shown[0]["suggestion_id"]}).to_pylist()
    assert why and why[0]["template_id"] == shown[0]["template_id"]
    quarantined = (
        run_sql(root, "SELECT count(*) AS n FROM quarantine").to_pylist()
        if (root / "quarantine").exists()
        else [{"n": 0}]
    )
    assert quarantined[0]["n"] == 0, "the job's audit records must pass the data-quality gate"


def test_the_job_run_is_recorded_as_lineage(coaching):
    settings, job_id = coaching
    events = [json.loads(line) for line in (settings.run_dir / "lineage" / "events.jsonl").read_text().splitlines()]
    start = [e for e in events if e["run"]["runId"] == str(uuid.UUID(hex=job_id)) and e["eventType"] == "START"]
    assert len(start) == 1 and start[0]["job"]["name"] == settings.job_name == "cuecard-coaching"
    assert {d["name"] for d in start[0]["inputs"]} >= {"conversation.events", "coaching.policies"}
    assert {d["name"] for d in start[0]["outputs"]} >= {"coaching.suggestions", "coaching.audit"}


def test_a_replay_runs_history_through_the_challenger_without_touching_live_topics(coaching):
    settings, _ = coaching
    produce(settings, [turn("conv-replay", 0, "customer", "I want my money back for this order")])
    live = read_until(
        settings, "coaching.audit", lambda rs: any(r["event_id"] == "conv-replay-000" for r in rs), read_committed=True
    )
    replay = settings.with_overrides(replay_name="it-v2", intent_model="intent@2")
    job_id = start_replay(replay)
    try:
        replayed = read_until(
            settings,
            replay.output_topic("coaching.audit"),
            lambda rs: any(r["event_id"] == "conv-replay-000" and r["record_type"] == "turn" for r in rs),
            timeout=120,
            read_committed=True,
        )
    finally:
        flink_jobs.cancel(replay, job_id)
    lineage = (settings.run_dir / "lineage" / "events.jsonl").read_text().splitlines()
    started = [json.loads(e) for e in lineage if json.loads(e)["run"]["runId"] == str(uuid.UUID(hex=job_id))]
    assert {d["name"] for d in started[0]["outputs"]} >= {"replay.it-v2.coaching.audit"}
    turn_record = next(r for r in replayed if r["event_id"] == "conv-replay-000" and r["record_type"] == "turn")
    assert turn_record["model_versions"]["intent"] == "2"
    result = compare_audits(live, replayed)
    assert result["turns_compared"] >= 1 and result["model_versions_live"] != result["model_versions_replay"]


@pytest.mark.slow
def test_taskmanager_killed_mid_stream_recovers_and_audit_holds_every_turn_once(coaching):
    settings, job_id = coaching
    conversations, turns_each = 30, 20
    items = [
        turn(
            f"conv-kill-{c:02d}", s, "customer" if s % 2 == 0 else "agent", f"I still have a question about my bill {s}"
        )
        for s in range(turns_each)
        for c in range(conversations)
    ]
    expected = {item["value"]["event_id"] for item in items}

    def feed_slowly():
        for start in range(0, len(items), 20):
            produce(settings, items[start : start + 20])
            time.sleep(0.4)

    feeder = threading.Thread(target=feed_slowly)
    feeder.start()
    time.sleep(4)
    victim = stack.recorded_pid(stack.TASKMANAGER, settings)
    os.killpg(victim, signal.SIGKILL)
    feeder.join()
    stack.start_taskmanager(settings, stack.java_binary())

    audit = read_until(
        settings,
        "coaching.audit",
        lambda rs: expected <= {r["event_id"] for r in rs if r["record_type"] == "turn"},
        timeout=240,
        read_committed=True,
    )
    turn_ids = [r["event_id"] for r in audit if r["record_type"] == "turn" and r["event_id"] in expected]
    assert len(turn_ids) == len(expected), f"{len(turn_ids) - len(set(turn_ids))} duplicated turn records"
    audit_ids = [r["audit_id"] for r in audit]
    assert len(audit_ids) == len(set(audit_ids)), "an audit record was committed twice"
    assert flink_jobs.job_state(settings, job_id) == "RUNNING"
