"""The timestamp form of every cuecard record, on the bottom floor so any module can stamp a record."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_iso(epoch_seconds: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the timestamp form of every cuecard record."""
    moment = datetime.fromtimestamp(time.time() if epoch_seconds is None else epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
