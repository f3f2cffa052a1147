"""Every test in this folder is a unit test: pure logic, no services (the marker is applied here, once)."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests collected from this folder `unit`, so `pytest -m unit` cannot miss a file."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.unit)
