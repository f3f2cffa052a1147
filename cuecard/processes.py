"""Local process supervision by pid: start a service in its own session, record its pid, stop exactly it.

The stack (`cuecard.stack`) is built from these pieces; nothing here knows Kafka or Flink. A pid is
trusted only while the process is alive (a zombie counts as gone), so a stale record is never signalled.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from udfs.settings import Settings


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


def say(message: str) -> None:
    """Progress output of long-running stack work."""
    print(f"[cuecard] {message}", flush=True)


def recorded_pid(service: Service, settings: Settings) -> int | None:
    """The pid of a service we started that is still alive, else None (stale records are removed)."""
    pid_file = service.pid_file(settings)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if alive(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie child still answers kill(0); it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def spawn(service: Service, settings: Settings, argv: list[str], env: dict[str, str]) -> int:
    """Start the service in its own session, output to its log, and record its pid; returns the pid."""
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
            if not alive(pid):
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


def require_free(port: int, env_var: str) -> None:
    """Fail with one line naming the env var to change if something already listens on the port."""
    if port_open(port):
        raise StackError(
            f"port {port} on 127.0.0.1 is already in use by another program; "
            f"stop it or choose another port with {env_var}=<port>"
        )


def wait_until(what: str, ready: Callable[[], bool], timeout: float, pid: int, log: Path) -> None:
    """Poll `ready` until it holds; fail naming the log if the process exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            raise StackError(f"{what} exited during start-up; see {log}")
        if ready():
            return
        time.sleep(0.3)
    raise StackError(f"{what} did not become ready within {timeout:.0f}s; see {log}")


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
