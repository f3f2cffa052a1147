"""Shared fixtures: real services on free loopback ports, in a temporary run dir, stopped by pid.

`kafka_settings` starts only the broker; `flink_settings` adds the Flink standalone cluster to the
same run dir. Both are session-scoped: the services start once per test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cuecard import stack
from udfs.settings import Settings, load_settings


def _test_settings(run_dir: Path) -> Settings:
    ports = set()
    while len(ports) < 4:
        ports.add(stack.free_port())
    kafka, controller, rest, rpc = sorted(ports)
    return load_settings().with_overrides(
        run_dir=run_dir,
        kafka_port=kafka,
        kafka_controller_port=controller,
        flink_rest_port=rest,
        flink_rpc_port=rpc,
        checkpoint_interval_ms=1000,
    )


@pytest.fixture(scope="session")
def kafka_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a running real KRaft broker with the contract topics created."""
    settings = _test_settings(tmp_path_factory.mktemp("stack"))
    try:
        stack.up(settings, with_flink=False)
        yield settings
    finally:
        stack.down(settings, quiet=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_settings: Settings) -> str:
    """The broker's bootstrap address, e.g. 127.0.0.1:40123."""
    return kafka_settings.bootstrap_servers


@pytest.fixture(scope="session")
def flink_settings(kafka_settings: Settings) -> Iterator[Settings]:
    """Settings of a running Flink standalone cluster beside the broker."""
    stack.up(kafka_settings, with_flink=True)
    yield kafka_settings
