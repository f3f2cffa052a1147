"""The local Flink standalone cluster: one JobManager and one TaskManager from the apache-flink wheel.

Both run the wheel's scripts in the foreground, configured by `flink-conf/config.yaml` plus this
machine's loopback addresses, ports, state paths and the venv's Python (rendered into the run dir).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import sysconfig
import urllib.request
from pathlib import Path

import yaml

from cuecard.processes import Service, recorded_pid, require_free, say, spawn, stop_pid, wait_until
from udfs.settings import PROJECT_ROOT, Settings

FLINK_CONF_SOURCE = PROJECT_ROOT / "flink-conf" / "config.yaml"
JOBMANAGER = Service("flink-jobmanager")
TASKMANAGER = Service("flink-taskmanager")
# The packages whose sources the TaskManager's Python imports.
JOB_PACKAGES = ("cuecard", "jobs", "udfs")


def flink_home() -> Path:
    """The Flink distribution inside the apache-flink wheel."""
    import pyflink

    return Path(pyflink.__file__).parent


def flink_conf_dir(settings: Settings) -> Path:
    """The generated FLINK_CONF_DIR: flink-conf/config.yaml plus this machine's ports and paths."""
    return settings.run_dir / "flink-conf"


def write_flink_conf(settings: Settings) -> Path:
    """Render flink-conf/config.yaml with loopback addresses, ports, state paths and the venv's Python."""
    conf = yaml.safe_load(FLINK_CONF_SOURCE.read_text())
    local = {
        "jobmanager.bind-host": "127.0.0.1",
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": settings.flink_rpc_port,
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.host": "127.0.0.1",
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": settings.flink_rest_port,
        "execution.checkpointing.dir": f"file://{settings.run_dir / 'flink-checkpoints'}",
        "execution.checkpointing.savepoint-dir": f"file://{settings.run_dir / 'flink-savepoints'}",
        "io.tmp.dirs": str(settings.run_dir / "flink-tmp"),
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
    }
    conf.update(local)
    target = flink_conf_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.yaml").write_text(yaml.safe_dump(conf, sort_keys=True))
    for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
        shutil.copyfile(flink_home() / "conf" / name, target / name)
    _link_flink_lib(settings)
    return target


def _link_flink_lib(settings: Settings) -> None:
    # The wheel keeps flink-python in opt/, but a standalone cluster loads Python operators only
    # from lib/: assemble a lib dir of links rather than modify the installed package.
    lib = settings.run_dir / "flink-lib"
    shutil.rmtree(lib, ignore_errors=True)
    lib.mkdir(parents=True)
    for jar in [*(flink_home() / "lib").glob("*.jar"), *(flink_home() / "opt").glob("flink-python-*.jar")]:
        (lib / jar.name).symlink_to(jar)


def flink_env(settings: Settings, java: str) -> dict[str, str]:
    """Environment for Flink scripts: our conf, logs and pid dir, and the java we checked."""
    env = dict(os.environ)
    env.update(
        FLINK_CONF_DIR=str(flink_conf_dir(settings)),
        FLINK_LIB_DIR=str(settings.run_dir / "flink-lib"),
        FLINK_LOG_DIR=str(settings.run_dir / "logs" / "flink"),
        FLINK_PID_DIR=str(settings.run_dir / "pids" / "flink-scripts"),
        JAVA_HOME=str(Path(java).resolve().parent.parent),
        PYFLINK_CLIENT_EXECUTABLE=sys.executable,
        # Thread mode embeds the base interpreter in the TaskManager JVM; it does not activate the
        # venv by itself, so hand it the venv's packages and the project root.
        PYTHONPATH=os.pathsep.join([sysconfig.get_paths()["purelib"], str(PROJECT_ROOT)]),
    )
    return env


def flink_overview(settings: Settings) -> dict | None:
    """The cluster overview from the REST API, or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"{settings.flink_rest_url}/overview", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def start_flink(settings: Settings, java: str) -> tuple[int, int]:
    """Start (or reuse) a JobManager, then a TaskManager, in the foreground mode of the wheel's scripts."""
    jm = recorded_pid(JOBMANAGER, settings)
    if jm and flink_overview(settings) is not None:
        say(f"Flink JobManager already running (pid {jm}); web UI {settings.flink_rest_url}")
    else:
        if jm:
            stop_pid(jm)
        require_free(settings.flink_rest_port, "CUECARD_FLINK_REST_PORT")
        require_free(settings.flink_rpc_port, "CUECARD_FLINK_RPC_PORT")
        write_flink_conf(settings)
        say(f"starting Flink JobManager; web UI {settings.flink_rest_url}")
        jm = spawn(JOBMANAGER, settings, _flink_script("jobmanager.sh"), flink_env(settings, java))
        wait_until(
            "Flink JobManager", lambda: flink_overview(settings) is not None, 90, jm, JOBMANAGER.log_file(settings)
        )
    return jm, start_taskmanager(settings, java)


def code_fingerprint() -> str:
    """A hash of the Python sources the TaskManager imports (`JOB_PACKAGES`)."""
    digest = hashlib.sha256()
    for package in JOB_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _code_file(settings: Settings) -> Path:
    return TASKMANAGER.pid_file(settings).with_suffix(".code")


def start_taskmanager(settings: Settings, java: str) -> int:
    """Start (or reuse) the TaskManager; also how a killed TaskManager is brought back.

    Thread-mode Python lives inside the TaskManager's JVM and keeps modules imported by earlier jobs,
    so a TaskManager that imported older sources is restarted rather than reused.
    """
    tm = recorded_pid(TASKMANAGER, settings)
    code_file = _code_file(settings)
    if tm and code_file.exists() and code_file.read_text() == code_fingerprint():
        say(f"Flink TaskManager already running (pid {tm})")
        return tm
    if tm:
        say(f"restarting Flink TaskManager (pid {tm}): the job's Python sources changed since it started")
        stop_pid(tm)
        TASKMANAGER.pid_file(settings).unlink(missing_ok=True)
    say("starting Flink TaskManager")
    registered = (flink_overview(settings) or {}).get("taskmanagers", 0)
    tm = spawn(TASKMANAGER, settings, _flink_script("taskmanager.sh"), flink_env(settings, java))
    code_file.write_text(code_fingerprint())
    # A killed TaskManager may still be counted until its heartbeat times out: wait for free slots.
    wait_until(
        "Flink TaskManager",
        lambda: (
            (flink_overview(settings) or {}).get("slots-available", 0) > 0
            or (flink_overview(settings) or {}).get("taskmanagers", 0) > registered
        ),
        90,
        tm,
        TASKMANAGER.log_file(settings),
    )
    return tm


def _flink_script(name: str) -> list[str]:
    return ["bash", str(flink_home() / "bin" / name), "start-foreground"]
