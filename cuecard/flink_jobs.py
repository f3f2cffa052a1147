"""Submitting, finding and cancelling cuecard's jobs on the Flink cluster (REST API + `flink run`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from cuecard.flink_cluster import flink_env, flink_home, start_taskmanager
from cuecard.processes import StackError, java_binary, say
from udfs.settings import PROJECT_ROOT, Settings, settings_env

COACHING_SCRIPT = PROJECT_ROOT / "jobs" / "coaching_job.py"


def _rest(settings: Settings, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(f"{settings.flink_rest_url}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            body = resp.read()
    except OSError as err:
        raise StackError(
            f"Flink REST API at {settings.flink_rest_url} does not answer ({err}); run `cuecard up`"
        ) from None
    return json.loads(body) if body else {}


def jobs_by_name(
    settings: Settings,
    name: str,
    states: tuple[str, ...] = ("RUNNING", "CREATED", "RESTARTING", "INITIALIZING"),
) -> list[str]:
    """Ids of the cluster's jobs with this name in one of these states."""
    overview = _rest(settings, "/jobs/overview")
    return [job["jid"] for job in overview.get("jobs", []) if job["name"] == name and job["state"] in states]


def job_state(settings: Settings, job_id: str) -> str:
    """The job's current state as Flink reports it."""
    return str(_rest(settings, f"/jobs/{job_id}").get("state"))


def submit(settings: Settings, script: Path = COACHING_SCRIPT) -> str:
    """Submit the job (live, or a replay when the settings name one) unless it already runs; returns its id."""
    name = settings.job_name
    running = jobs_by_name(settings, name)
    if running:
        say(f"job {name} already running ({running[0]}); not submitting again")
        return running[0]
    java = java_binary()
    start_taskmanager(settings, java)
    env = flink_env(settings, java)
    env.update(settings_env(settings))
    say(f"submitting {name} ({script.relative_to(PROJECT_ROOT)}) to {settings.flink_rest_url}")
    result = subprocess.run(
        [str(flink_home() / "bin" / "flink"), "run", "-d", "-py", str(script), "-pyexec", sys.executable],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )
    job_id = next(
        (
            line.rsplit(" ", 1)[1]
            for line in result.stdout.splitlines()
            if line.startswith("Job has been submitted with JobID")
        ),
        None,
    )
    if result.returncode == 0 and job_id is not None:
        _lineage(settings, name, "START", job_id)
        return job_id
    log = settings.run_dir / "logs" / f"submit-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    cause = next(
        (
            ln
            for ln in reversed(result.stdout.splitlines() + result.stderr.splitlines())
            if "Error" in ln or "Exception" in ln
        ),
        "no cause printed",
    )
    raise StackError(f"submitting {name} failed: {cause.strip()[:300]}; full output in {log}")


def _lineage(settings: Settings, name: str, event_type: str, job_id: str) -> None:
    # The Flink job id is the OpenLineage run id, so START and ABORT of one run pair up.
    from lineage.events import COACHING_OUTPUTS, coaching_job_datasets, emit_job_event, kafka_dataset

    inputs, _ = coaching_job_datasets(settings.bootstrap_servers)
    outputs = [kafka_dataset(settings.bootstrap_servers, settings.output_topic(t)) for t in COACHING_OUTPUTS]
    emit_job_event(name, event_type, inputs, outputs, run_id=str(uuid.UUID(hex=job_id)), path=settings.lineage_file)


def wait_running(settings: Settings, job_id: str, timeout: float = 90.0) -> None:
    """Wait until every task of the job runs (sources are reading), or fail with the job's exception."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = _rest(settings, f"/jobs/{job_id}")
        if detail.get("state") in ("FAILED", "CANCELED", "FINISHED"):
            raise StackError(f"job {job_id} is {detail['state']}; see {settings.flink_rest_url}/#/job/{job_id}")
        vertices = detail.get("vertices", [])
        if vertices and all(v.get("status") == "RUNNING" for v in vertices):
            return
        time.sleep(0.5)
    raise StackError(f"job {job_id} did not reach RUNNING within {timeout:.0f}s; see the TaskManager log")


def cancel_all(settings: Settings) -> int:
    """Cancel every running job named like the settings' job (live or a replay); returns how many."""
    running = jobs_by_name(settings, settings.job_name)
    for job_id in running:
        cancel(settings, job_id)
    return len(running)


def cancel(settings: Settings, job_id: str, timeout: float = 60.0) -> None:
    """Cancel a job, wait until it is gone, and record the end of its run in the lineage events."""
    name = str(_rest(settings, f"/jobs/{job_id}").get("name"))
    _rest(settings, f"/jobs/{job_id}?mode=cancel", method="PATCH")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and job_state(settings, job_id) not in (
        "CANCELED",
        "FAILED",
        "FINISHED",
    ):
        time.sleep(0.5)
    _lineage(settings, name, "ABORT", job_id)
