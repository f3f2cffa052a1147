"""Producing sample records to the input topics and reading the output topics, from outside Flink."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from udfs.settings import Settings


@dataclass(frozen=True)
class FeedRecord:
    """One record to produce: topic, key and the exact value bytes."""

    topic: str
    key: bytes | None
    value: bytes


def feed_record(item: Mapping[str, Any]) -> FeedRecord:
    """One generator item: {topic, key, value} (JSON object) or {topic, key, value_raw} (any string)."""
    key = item.get("key")
    if "value_raw" in item:
        value = item["value_raw"].encode("utf-8")
    else:
        value = json.dumps(item["value"], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return FeedRecord(item["topic"], key.encode("utf-8") if key is not None else None, value)


def parse_feed_line(line: str, line_no: int) -> FeedRecord:
    """Read one JSON line of generator output; a bad line raises ValueError naming its number."""
    try:
        return feed_record(json.loads(line))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"line {line_no}: not a feed record ({err}); expected {{topic, key, value}}") from None


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer for feeding: acks=all so a fed record is durably in the log when `feed` returns."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers, "acks": "all", "linger_ms": 5}
    options.update(overrides)
    return KafkaProducer(**options)


def feed(
    settings: Settings,
    records: Iterable[FeedRecord],
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Produce records in order (optionally paced to `rate` per second); returns how many were sent."""
    kafka = producer(settings)
    sent = 0
    started = time.monotonic()
    try:
        for record in records:
            if rate:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            kafka.send(record.topic, key=record.key, value=record.value)
            sent += 1
            if progress and sent % 1000 == 0:
                progress(sent)
        kafka.flush()
    finally:
        kafka.close()
    return sent


def _assigned_consumer(settings: Settings, topics: Iterable[str], *, read_committed: bool) -> KafkaConsumer:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        isolation_level="read_committed" if read_committed else "read_uncommitted",
        enable_auto_commit=False,
    )
    consumer.assign([TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())])
    return consumer


def consumer_at_end(settings: Settings, topics: Iterable[str], *, read_committed: bool = False) -> KafkaConsumer:
    """A group-less consumer positioned at the current end of every partition of the topics."""
    consumer = _assigned_consumer(settings, topics, read_committed=read_committed)
    partitions = list(consumer.assignment())
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)  # resolve the lazy seek now, before anything is produced
    return consumer


def live_consumer(settings: Settings, topics: Iterable[str]) -> KafkaConsumer:
    """A reader of the live topics at their end, with the isolation their delivery mode needs.

    Exactly-once live topics are transactional: a read_uncommitted reader would see records that a
    recovery later aborts, so it reads committed records only, like any consumer should.
    """
    return consumer_at_end(settings, topics, read_committed=settings.suggestions_delivery == "exactly-once")


def consumer_from_start(settings: Settings, topics: Iterable[str], *, read_committed: bool = False) -> KafkaConsumer:
    """A group-less consumer reading every partition of the topics from the beginning."""
    consumer = _assigned_consumer(settings, topics, read_committed=read_committed)
    consumer.seek_to_beginning(*consumer.assignment())
    return consumer


def messages(
    consumer: KafkaConsumer, idle_timeout: float, max_messages: int | None = None
) -> Iterator[tuple[str, dict]]:
    """Yield (topic, decoded JSON value) until `idle_timeout` seconds pass with nothing new, or the max."""
    seen = 0
    last = time.monotonic()
    while time.monotonic() - last < idle_timeout:
        batch = consumer.poll(timeout_ms=200)
        for records in batch.values():
            for record in records:
                last = time.monotonic()
                yield record.topic, json.loads(record.value)
                seen += 1
                if max_messages is not None and seen >= max_messages:
                    return
