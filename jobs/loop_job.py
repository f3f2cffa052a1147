"""The framework baseline of `cuecard bench --baseline`: the coaching core as a plain Kafka loop, no Flink.

One process consumes the input topics (from their end, read_committed), runs every record through
the local runner and produces the outputs to the same topics the job writes, so the same benchmark
client measures both. It has no checkpoints, no exactly-once and no recovery: it answers "what does
Flink cost us", not "how should cuecard run". Run it with `python -m jobs.loop_job` (it stops on
SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from udfs.envelopes import RawRecord
from udfs.runner import LocalRunner
from udfs.settings import load_settings
from udfs.stages import CoachingCore
from udfs.topics import ALERTS, AUDIT, DLQ, INPUT_TOPICS, SUGGESTIONS


def main() -> int:
    """Consume, coach and produce until stopped."""
    settings = load_settings()
    runner = LocalRunner(CoachingCore.load(settings))
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, isolation_level="read_committed", enable_auto_commit=False
    )
    partitions = [
        TopicPartition(topic.name, p) for topic in INPUT_TOPICS for p in consumer.partitions_for_topic(topic.name) or ()
    ]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    out = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks=1, linger_ms=0)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print("[cuecard] baseline loop consuming", flush=True)
    try:
        while not stopping:
            for records in consumer.poll(timeout_ms=50).values():
                for record in records:
                    raw = RawRecord(
                        record.topic, record.partition, record.offset, record.timestamp, record.key, record.value or b""
                    )
                    outcome = runner.feed(raw)
                    key = outcome.key.encode() if outcome.key is not None else None
                    for topic, values in (
                        (SUGGESTIONS, outcome.suggestions),
                        (ALERTS, outcome.alerts),
                        (AUDIT, outcome.audit),
                        (DLQ, outcome.dlq),
                    ):
                        for value in values:
                            out.send(topic.name, key=key, value=orjson.dumps(value))
    except KeyboardInterrupt:
        pass
    out.flush()
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
