import os
import subprocess
import sys

from cuecard import stack
from udfs.settings import settings_env


def test_broker_and_cluster_are_ours_and_on_loopback(flink_settings):
    status = stack.status(flink_settings)
    for service in (stack.KAFKA, stack.JOBMANAGER, stack.TASKMANAGER):
        assert status[service.name] is not None, f"{service.name} has no live recorded pid"
    assert status["flink"]["taskmanagers"] == 1
    assert status["kafka_bootstrap"].startswith("127.0.0.1:")


def test_up_is_idempotent(flink_settings):
    before = {s.name: stack.recorded_pid(s, flink_settings) for s in stack.SERVICES}
    stack.up(flink_settings)
    after = {s.name: stack.recorded_pid(s, flink_settings) for s in stack.SERVICES}
    assert before == after


def test_busy_port_gives_one_line_error_and_starts_nothing(flink_settings, tmp_path):
    # The running broker's port is busy: a second stack asking for it must refuse cleanly.
    other = flink_settings.with_overrides(run_dir=tmp_path / "other", kafka_controller_port=stack.free_port())
    env = {**os.environ, **settings_env(other)}
    result = subprocess.run([sys.executable, "-m", "cuecard.cli", "up"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and "already in use" in error[0] and "CUECARD_KAFKA_PORT" in error[0]
    assert not list((tmp_path / "other").glob("pids/*.pid"))


def test_down_stops_exactly_what_up_started(kafka_settings, tmp_path):
    own = kafka_settings.with_overrides(
        run_dir=tmp_path / "own", kafka_port=stack.free_port(), kafka_controller_port=stack.free_port()
    )
    stack.up(own, with_flink=False)
    pid = stack.recorded_pid(stack.KAFKA, own)
    assert pid is not None and stack.port_open(own.kafka_port)
    assert stack.down(own) == ["kafka"]
    assert not stack.alive(pid)
    assert not stack.port_open(own.kafka_port)
    # The session broker is untouched.
    assert stack.port_open(kafka_settings.kafka_port)
    assert stack.down(own) == []


def test_audit_writer_runs_as_a_recorded_service(kafka_settings):
    pid = stack.start_audit_writer(kafka_settings)
    assert stack.start_audit_writer(kafka_settings) == pid, "a second start reuses the running writer"
    assert stack.down(kafka_settings, services=[stack.AUDIT_WRITER]) == ["audit-writer"]
    assert not stack.alive(pid)
    assert stack.port_open(kafka_settings.kafka_port), "stopping the writer leaves the broker alone"
