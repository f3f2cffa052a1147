"""The versioned JSON Schema files in `udfs/schemas/`: where they are, which there are, how to read one.

They are the one truth of the record formats and of the topics (`x-kafka-*` keys, see `udfs/topics.py`);
validation, the topic registry and the Flink SQL DDL all read them through this module.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_NAMES = (
    "conversation_event",
    "customer_context",
    "agent_state",
    "policy",
    "feedback",
    "suggestion",
    "alert",
    "audit_record",
    "dlq_record",
)


def load_schema(name: str, version: int = 1) -> dict[str, Any]:
    """The parsed schema file `udfs/schemas/<name>.v<version>.json` (a fresh copy each call)."""
    return json.loads(_schema_text(name, version))


@cache
def _schema_text(name: str, version: int) -> str:
    return (SCHEMA_DIR / f"{name}.v{version}.json").read_text(encoding="utf-8")
