"""Kafka clients for measuring: librdkafka (confluent-kafka) where kafka-python would load the machine.

Measured on the 2-core machine: with kafka-python the benchmark's own producer and two readers took
0.4-0.8 of a core at 150-200 turns/s, from the same cores as the system they measure, and the plain
Kafka loop baseline spent more time in the client than in the coaching core. cuecard's services keep
kafka-python (the design card); only `cuecard bench` and its baseline loop (`jobs.loop_job`) use these.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from confluent_kafka import OFFSET_END, Consumer, Message, Producer, TopicPartition

from udfs.settings import Settings


def fast_producer(settings: Settings) -> Producer:
    """A producer that sends at once (no linger): latency is what is measured."""
    return Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "1", "linger.ms": 0})


def tail_consumer(settings: Settings, topics: Iterable[str], *, read_committed: bool) -> Consumer:
    """A consumer of every partition of `topics`, from their current end, outside any group's offsets."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"cuecard-bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
            "fetch.wait.max.ms": 10,
        }
    )
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [
            TopicPartition(topic, partition, OFFSET_END)
            for topic in topics
            for partition in sorted(metadata.topics[topic].partitions)
        ]
    )
    return consumer


def next_records(consumer: Consumer, timeout: float = 0.1, batch: int = 1000) -> list[Message]:
    """What has arrived, as soon as anything has: `consume(n, timeout)` alone would wait for n or the timeout.

    Waiting for a full batch would add up to `timeout` to every latency measured at a low rate.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=batch, timeout=0)]
