"""The framework baseline of `cuecard bench --baseline`: the coaching core as a plain Kafka loop, no Flink.

One process consumes the input topics (from their end, read_committed, with librdkafka like the
benchmark client), runs every record through the local runner and produces the outputs to the
topics the job writes, so the same benchmark client measures both. It has no checkpoints, no
exactly-once and no recovery: it answers "what does Flink cost us", not "how should cuecard run".
Run it with `python -m jobs.loop_job` (it stops on SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import orjson

from jobs.librdkafka_clients import fast_producer, next_records, tail_consumer
from udfs.envelopes import RawRecord
from udfs.runner import LocalRunner, outputs_by_topic
from udfs.settings import load_settings
from udfs.stages import CoachingCore
from udfs.topics import INPUT_TOPICS


def main() -> int:
    """Consume, coach and produce until stopped."""
    settings = load_settings()
    runner = LocalRunner(CoachingCore.load(settings))
    consumer = tail_consumer(settings, [topic.name for topic in INPUT_TOPICS], read_committed=True)
    out = fast_producer(settings)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print("[cuecard] baseline loop consuming", flush=True)
    try:
        while not stopping:
            for record in next_records(consumer, timeout=0.05, batch=500):
                topic_name, partition, offset = record.topic(), record.partition(), record.offset()
                if record.error() is not None or topic_name is None or partition is None or offset is None:
                    continue
                _, timestamp_ms = record.timestamp()
                raw = RawRecord(topic_name, partition, offset, timestamp_ms, record.key(), record.value() or b"")
                outcome = runner.feed(raw)
                key = outcome.key.encode() if outcome.key is not None else None
                for topic, value in outputs_by_topic(outcome):
                    out.produce(topic.name, key=key, value=orjson.dumps(value))
            out.poll(0)
    except KeyboardInterrupt:
        pass
    out.flush(30)
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
