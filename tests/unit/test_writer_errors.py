"""The lake writer answers a missing broker with one line within seconds, not a traceback after 30 s."""

import socket
import time

from auditlake.writer import main


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_broker_is_one_line_and_exit_2(tmp_path, capsys):
    started = time.monotonic()
    code = main(["--bootstrap", f"127.0.0.1:{_closed_port()}", "--root", str(tmp_path / "delta"), "--no-lineage"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("audit-writer: error: no Kafka broker answers at 127.0.0.1:")
    assert "cuecard up" in err[0]
    assert time.monotonic() - started < 15
