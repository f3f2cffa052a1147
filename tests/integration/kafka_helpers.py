"""Feeding and reading the real broker from integration tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cuecard.kafka_clients import FeedRecord, consumer_from_start, feed, feed_record
from udfs.settings import Settings


def produce(settings: Settings, items: Iterable[Mapping[str, Any]]) -> int:
    """Produce generator-style items ({topic, key, value|value_raw})."""
    return feed(settings, (feed_record(item) for item in items))


def produce_raw(settings: Settings, topic: str, key: bytes | None, value: bytes) -> None:
    """Produce exact bytes (for records no generator item can express, e.g. invalid UTF-8)."""
    feed(settings, [FeedRecord(topic, key, value)])


def read_until(
    settings: Settings,
    topic: str,
    done: Callable[[list[dict[str, Any]]], bool],
    *,
    timeout: float = 60.0,
    read_committed: bool = False,
) -> list[dict[str, Any]]:
    """Read a topic from the beginning until `done(records)` holds; returns what was read."""
    consumer = consumer_from_start(settings, [topic], read_committed=read_committed)
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(json.loads(r.value) for r in batch)
            if done(records):
                return records
    finally:
        consumer.close()
    raise AssertionError(f"{topic}: condition not met within {timeout:.0f}s; read {len(records)} records")


def turn(
    conversation: str,
    seq: int,
    speaker: str,
    text: str,
    channel: str = "chat",
    customer: str = "cust-it-1",
    agent: str = "agent-it-1",
) -> dict[str, Any]:
    """A conversation.events item."""
    return {
        "topic": "conversation.events",
        "key": conversation,
        "value": {
            "event_id": f"{conversation}-{seq:03d}",
            "conversation_id": conversation,
            "seq": seq,
            "ts": "2026-11-25T09:00:00.000Z",
            "channel": channel,
            "speaker": speaker,
            "text": text,
            "customer_id": customer,
            "agent_id": agent,
            "schema_version": 1,
        },
    }
