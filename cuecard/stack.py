"""The local stack: a single-node Kafka broker (KRaft) and a Flink standalone cluster, on loopback.

Every process is started in its own session and its pid recorded under `<run_dir>/pids`, so `down`
stops exactly what `up` started and nothing else. `up` is idempotent: services already running
(recorded pid alive and its port answering) are reused. A failed `up` stops what it started.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from cuecard.settings import PROJECT_ROOT, Settings, settings_env

TOPICS = (
    "conversation.events",
    "customer.context",
    "agent.state",
    "coaching.policies",
    "agent.feedback",
    "coaching.suggestions",
    "coaching.audit",
    "coaching.alerts",
    "coaching.dlq",
)
FLINK_CONF_SOURCE = PROJECT_ROOT / "flink-conf" / "config.yaml"


class StackError(RuntimeError):
    """A service cannot start or stop; the message is one line saying what to do."""


@dataclass(frozen=True)
class Service:
    """A process of the stack: where its pid and its log are recorded."""

    name: str

    def pid_file(self, settings: Settings) -> Path:
        """Where its pid is recorded."""
        return settings.run_dir / "pids" / f"{self.name}.pid"

    def log_file(self, settings: Settings) -> Path:
        """Where its stdout and stderr go."""
        return settings.run_dir / "logs" / f"{self.name}.log"


KAFKA = Service("kafka")
JOBMANAGER = Service("flink-jobmanager")
TASKMANAGER = Service("flink-taskmanager")
AUDIT_WRITER = Service("audit-writer")
# In start order; `down` stops them in reverse.
SERVICES = (KAFKA, JOBMANAGER, TASKMANAGER, AUDIT_WRITER)


def flink_home() -> Path:
    """The Flink distribution inside the apache-flink wheel."""
    import pyflink

    return Path(pyflink.__file__).parent


def say(message: str) -> None:
    """Progress output of long-running stack work."""
    print(f"[cuecard] {message}", flush=True)


# --- process bookkeeping ------------------------------------------------------------------------


def recorded_pid(service: Service, settings: Settings) -> int | None:
    """The pid of a service we started that is still alive, else None (stale records are removed)."""
    pid_file = service.pid_file(settings)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if _alive(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _spawn(service: Service, settings: Settings, argv: list[str], env: dict[str, str]) -> int:
    log = service.log_file(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    service.pid_file(settings).parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    service.pid_file(settings).write_text(str(proc.pid))
    return proc.pid


def stop_pid(pid: int, grace_seconds: float = 15.0) -> None:
    """Stop a process group we started: SIGTERM, then SIGKILL after the grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            _reap(pid)
            if not _alive(pid):
                return
            time.sleep(0.1)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A port the OS considers free right now (for tests and overrides)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require_free(port: int, env_var: str) -> None:
    if port_open(port):
        raise StackError(
            f"port {port} on 127.0.0.1 is already in use by another program; "
            f"stop it or choose another port with {env_var}=<port>"
        )


def _wait_until(what: str, ready: Callable[[], bool], timeout: float, pid: int, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StackError(f"{what} exited during start-up; see {log}")
        if ready():
            return
        time.sleep(0.3)
    raise StackError(f"{what} did not become ready within {timeout:.0f}s; see {log}")


# --- preflight ----------------------------------------------------------------------------------


def java_binary() -> str:
    """The java executable (JAVA_HOME first), checked to be version 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise StackError("no Java found; install a JDK 17+ (e.g. apt-get install openjdk-17-jdk) or set JAVA_HOME")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < 17:
        raise StackError(f"{java} is not Java 17+ ({out.splitlines()[0] if out else 'no version'}); set JAVA_HOME")
    return java


def kafka_classpath(settings: Settings) -> str:
    """The broker's classpath from the jars `make jars` fetched."""
    jars = settings.jars_dir / "kafka"
    if not any(jars.glob("kafka_2.13-*.jar")):
        raise StackError(f"Kafka jars missing in {jars}; run `make jars` (needs Maven Central reachable)")
    return f"{jars}/*"


def connector_jar(settings: Settings) -> Path:
    """The shaded Flink Kafka connector jar the jobs load."""
    found = sorted((settings.jars_dir / "flink").glob("flink-sql-connector-kafka-*.jar"))
    if not found:
        raise StackError(f"Flink Kafka connector jar missing in {settings.jars_dir / 'flink'}; run `make jars`")
    return found[-1]


# --- Kafka --------------------------------------------------------------------------------------


def _kafka_properties(settings: Settings) -> str:
    data = settings.run_dir / "kafka-data"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{settings.kafka_controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port},CONTROLLER://127.0.0.1:{settings.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": str(settings.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Must be >= the Flink sink's transaction.timeout.ms (flink-conf sets 10 min).
        "transaction.max.timeout.ms": "900000",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


_KAFKA_LOG4J = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def start_kafka(settings: Settings, java: str) -> int:
    """Format the KRaft storage once, then start the broker; returns its pid."""
    pid = recorded_pid(KAFKA, settings)
    if pid is not None and port_open(settings.kafka_port):
        say(f"Kafka already running (pid {pid}) on {settings.bootstrap_servers}")
        return pid
    if pid is not None:
        stop_pid(pid)
    _require_free(settings.kafka_port, "CUECARD_KAFKA_PORT")
    _require_free(settings.kafka_controller_port, "CUECARD_KAFKA_CONTROLLER_PORT")
    conf_dir = settings.run_dir / "kafka-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    props = conf_dir / "server.properties"
    props.write_text(_kafka_properties(settings))
    log4j = conf_dir / "log4j2.properties"
    log4j.write_text(_KAFKA_LOG4J.format(log=settings.run_dir / "logs" / "kafka-server.log"))
    jvm = [
        java,
        "-Xms512m",
        "-Xmx1g",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        kafka_classpath(settings),
    ]
    if not (settings.run_dir / "kafka-data" / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        formatted = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)],
            capture_output=True,
            text=True,
            check=False,
        )
        if formatted.returncode != 0:
            raise StackError(f"formatting Kafka storage failed: {formatted.stderr.strip().splitlines()[-1:]}")
    say(f"starting Kafka (KRaft) on {settings.bootstrap_servers}")
    pid = _spawn(KAFKA, settings, [*jvm, "kafka.Kafka", str(props)], dict(os.environ))
    _wait_until("Kafka", lambda: _kafka_ready(settings), 90, pid, KAFKA.log_file(settings))
    return pid


def _kafka_ready(settings: Settings) -> bool:
    if not port_open(settings.kafka_port):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=3000)
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def create_topics(settings: Settings, topics: Iterable[str] = TOPICS) -> list[str]:
    """Create the contract topics that do not exist yet; returns the ones created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1) for t in missing]
            )
        return missing
    finally:
        admin.close()


# --- Flink --------------------------------------------------------------------------------------


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
        _require_free(settings.flink_rest_port, "CUECARD_FLINK_REST_PORT")
        _require_free(settings.flink_rpc_port, "CUECARD_FLINK_RPC_PORT")
        write_flink_conf(settings)
        say(f"starting Flink JobManager; web UI {settings.flink_rest_url}")
        jm = _spawn(JOBMANAGER, settings, _flink_script("jobmanager.sh"), flink_env(settings, java))
        _wait_until(
            "Flink JobManager", lambda: flink_overview(settings) is not None, 90, jm, JOBMANAGER.log_file(settings)
        )
    return jm, start_taskmanager(settings, java)


def code_fingerprint() -> str:
    """A hash of the Python sources the TaskManager imports (jobs, udfs, cuecard)."""
    digest = hashlib.sha256()
    for package in ("cuecard", "jobs", "udfs"):
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
    tm = _spawn(TASKMANAGER, settings, _flink_script("taskmanager.sh"), flink_env(settings, java))
    code_file.write_text(code_fingerprint())
    # A killed TaskManager may still be counted until its heartbeat times out: wait for free slots.
    _wait_until(
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


# --- audit lake writer ------------------------------------------------------------------------


def start_audit_writer(settings: Settings) -> int:
    """Start (or reuse) the audit lake writer: coaching.audit and coaching.dlq -> Delta tables."""
    pid = recorded_pid(AUDIT_WRITER, settings)
    if pid:
        say(f"audit lake writer already running (pid {pid})")
        return pid
    root = settings.run_dir / "audit" / "delta"
    say(f"starting the audit lake writer into {root} (log {AUDIT_WRITER.log_file(settings)})")
    env = {**os.environ, **settings_env(settings)}
    argv = [sys.executable, "-m", "jobs.audit_writer", "--bootstrap", settings.bootstrap_servers, "--root", str(root)]
    return _spawn(AUDIT_WRITER, settings, argv, env)


# --- the whole stack ----------------------------------------------------------------------------


def up(settings: Settings, with_flink: bool = True) -> None:
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


def down(settings: Settings, services: Iterable[Service] = SERVICES, quiet: bool = False) -> list[str]:
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
