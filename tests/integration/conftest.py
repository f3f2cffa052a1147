"""Every test in this folder runs against real services (broker, Flink, Delta): the marker is applied here."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests collected from this folder `integration`, so `pytest -m integration` cannot miss a file."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
