"""The local stack: a single-node Kafka broker (KRaft) and a Flink standalone cluster, on loopback.

Every process is started in its own session and its pid recorded under `<run_dir>/pids`, so `down`
stops exactly what `up` started and nothing else. `up` is idempotent: services already running
(recorded pid alive and its port answering) are reused. A failed `up` stops what it started.
The pieces: `cuecard.processes` (pids, ports, Java), `cuecard.kafka_broker`, `cuecard.flink_cluster`;
their names used by the commands and tests are re-exported here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from cuecard.flink_cluster import JOBMANAGER, TASKMANAGER, flink_overview, start_flink, start_taskmanager
from cuecard.kafka_broker import KAFKA, create_topics, start_kafka
from cuecard.processes import (
    Service,
    StackError,
    alive,
    free_port,
    java_binary,
    port_open,
    recorded_pid,
    say,
    spawn,
    stop_pid,
)
from udfs.settings import Settings, settings_env

__all__ = [
    "AUDIT_WRITER",
    "JOBMANAGER",
    "KAFKA",
    "SERVICES",
    "TASKMANAGER",
    "Service",
    "StackError",
    "alive",
    "create_topics",
    "down",
    "free_port",
    "java_binary",
    "port_open",
    "recorded_pid",
    "say",
    "start_audit_writer",
    "start_taskmanager",
    "status",
    "up",
]

AUDIT_WRITER = Service("audit-writer")
# In start order; `down` stops them in reverse.
SERVICES = (KAFKA, JOBMANAGER, TASKMANAGER, AUDIT_WRITER)


def start_audit_writer(settings: Settings) -> int:
    """Start (or reuse) the audit lake writer: coaching.audit and coaching.dlq -> Delta tables."""
    pid = recorded_pid(AUDIT_WRITER, settings)
    if pid:
        say(f"audit lake writer already running (pid {pid})")
        return pid
    root = settings.audit_dir
    say(f"starting the audit lake writer into {root} (log {AUDIT_WRITER.log_file(settings)})")
    env = {**os.environ, **settings_env(settings)}
    argv = [sys.executable, "-m", "auditlake.writer", "--bootstrap", settings.bootstrap_servers, "--root", str(root)]
    return spawn(AUDIT_WRITER, settings, argv, env)


def up(settings: Settings, *, with_flink: bool = True) -> None:
    """Start (or reuse) the broker and the cluster and create the topics; on failure stop what we started."""
    before = {s.name for s in SERVICES if recorded_pid(s, settings)}
    try:
        java = java_binary()
        start_kafka(settings, java)
        created = create_topics(settings)
        if created:
            say(f"created topics: {', '.join(created)}")
        if with_flink:
            start_flink(settings, java)
    except BaseException:
        started_now = [s for s in SERVICES if s.name not in before]
        down(settings, services=started_now, quiet=True)
        raise


def down(settings: Settings, services: Iterable[Service] = SERVICES, *, quiet: bool = False) -> list[str]:
    """Stop the services we started (by recorded pid), TaskManager first; returns what was stopped."""
    stopped = []
    for service in reversed(tuple(services)):
        pid = recorded_pid(service, settings)
        if pid is None:
            continue
        if not quiet:
            say(f"stopping {service.name} (pid {pid})")
        stop_pid(pid)
        service.pid_file(settings).unlink(missing_ok=True)
        stopped.append(service.name)
    return stopped


def status(settings: Settings) -> dict[str, object]:
    """What is running: pid per service, Flink's overview and its jobs."""
    result: dict[str, object] = {s.name: recorded_pid(s, settings) for s in SERVICES}
    result["kafka_bootstrap"] = settings.bootstrap_servers if port_open(settings.kafka_port) else None
    result["flink"] = flink_overview(settings)
    return result
