"""The audit writer against a real broker: read_committed, SIGKILL at random moments, exactly-once counts."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from auditlake.query import run_adhoc
from auditlake.verify import verify
from tests.fixtures.audit_samples import bulk_records, dead_letter
from udfs.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

RECORDS = 4000
DEAD_LETTERS = 40
KILLS = 8


def _produce(bootstrap: str, prefix: str) -> list[dict]:
    """Produce the records in committed transactions, plus one aborted transaction that must never land."""
    records = bulk_records(RECORDS, prefix=prefix)
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"audit-test-{prefix}", acks="all")
    producer.init_transactions()
    for start in range(0, RECORDS, 500):
        producer.begin_transaction()
        for record in records[start : start + 500]:
            producer.send("coaching.audit", key=record["conversation_id"].encode(), value=json.dumps(record).encode())
        if start == 1000:
            producer.send("coaching.audit", value=json.dumps(bulk_records(1, prefix=prefix + "-aborted")[0]).encode())
            producer.flush()
            producer.abort_transaction()
            producer.begin_transaction()
            for record in records[start : start + 500]:
                producer.send(
                    "coaching.audit", key=record["conversation_id"].encode(), value=json.dumps(record).encode()
                )
        producer.commit_transaction()
    producer.close()
    plain = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(DEAD_LETTERS):
        plain.send("coaching.dlq", value=json.dumps(dead_letter(10_000 + i)).encode())
    plain.flush()
    plain.close()
    return records


def _start(bootstrap: str, root: Path, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "auditlake.writer",
        "--bootstrap",
        bootstrap,
        "--root",
        str(root),
        "--max-records",
        "150",
        "--max-seconds",
        "0.5",
        "--no-lineage",
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_started(log: Path, starts: int, timeout: float = 60.0) -> None:
    """Wait for the writer's start line, so a kill lands while it batches, not while it loads (GE takes seconds)."""
    deadline = time.monotonic() + timeout
    while log.read_text().count("tables at") < starts:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


def _count(root: Path, sql: str) -> int:
    try:
        return run_adhoc(root, sql, {}).to_pylist()[0]["n"]
    except Exception:  # the first run may be killed before the tables exist
        return 0


def test_sigkill_at_random_points_then_every_record_exactly_once(kafka_bootstrap, tmp_path):
    prefix = f"crash-{uuid.uuid4().hex[:8]}"
    records = _produce(kafka_bootstrap, prefix)
    root, log = tmp_path / "delta", tmp_path / "writer.log"
    rng = random.Random(20261125)
    progress = []
    for kill in range(KILLS):
        writer = _start(kafka_bootstrap, root, log)
        _wait_started(log, kill + 1)
        time.sleep(rng.uniform(0.2, 3.0))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        progress.append(_count(root, f"SELECT count(*) AS n FROM turns WHERE conversation_id LIKE '{prefix}-%'"))

    writer = _start(kafka_bootstrap, root, log)
    expected_turns = sum(1 for r in records if r["record_type"] == "turn")
    deadline = time.monotonic() + 240
    sql = f"SELECT count(*) AS n FROM feedback WHERE conversation_id LIKE '{prefix}-%'"
    while _count(root, sql) < RECORDS // 3 and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)
    writer.send_signal(signal.SIGTERM)  # clean shutdown: finish the open batch, exit 0
    assert writer.wait(timeout=30) == 0, log.read_text()[-2000:]
    assert "stopped after" in log.read_text()
    print("turn rows after each kill:", progress, "of", expected_turns)
    assert progress != sorted(progress)[:1] * KILLS, "no kill landed after any progress"

    expected = Counter((r["record_type"], r["audit_id"]) for r in records)
    got: Counter = Counter()
    for table, record_type in (("turns", "turn"), ("suggestions", "suggestion"), ("feedback", "feedback")):
        rows = run_adhoc(root, f"SELECT audit_id FROM {table} WHERE conversation_id LIKE '{prefix}-%'", {})
        got.update((record_type, a) for a in rows.column("audit_id").to_pylist())
    assert got == expected  # every audit id exactly once, nothing from the aborted transaction
    blocked = sum(1 for r in records if r["record_type"] == "suggestion" and r["status"] == "blocked")
    decisions = run_adhoc(
        root,
        f"SELECT count(*) AS n, count(DISTINCT decision_id) AS d FROM policy_decisions "
        f"WHERE conversation_id LIKE '{prefix}-%'",
        {},
    ).to_pylist()[0]
    assert decisions == {"n": blocked, "d": blocked}
    letters = run_adhoc(
        root, "SELECT count(*) AS n, count(DISTINCT dlq_id) AS d FROM dead_letters WHERE source_offset >= 10000", {}
    ).to_pylist()[0]
    assert letters == {"n": DEAD_LETTERS, "d": DEAD_LETTERS}
    assert _count(root, f"SELECT count(*) AS n FROM quarantine WHERE row_json LIKE '%{prefix}%'") == 0
    assert verify(root) == []  # chains intact; orphaned files of killed writes hold no rows the tables lack
