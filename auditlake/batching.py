"""Exactly-once bookkeeping of the audit writer: app ids, resume offsets, what a batch still has to commit.

Every Delta commit of a table carries one app transaction per Kafka topic-partition that feeds it, its
version the last offset of that partition in the batch. delta-rs accepts a version that does not increase,
so these functions decide what is already committed and must be skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TopicPartition = tuple[str, int]


def app_id(table: str, topic: str, partition: int) -> str:
    """The Delta app transaction id of one table fed by one topic-partition."""
    return f"cuecard-audit/{table}/{topic}/{partition}"


@dataclass(frozen=True)
class BatchPolicy:
    """A micro-batch closes at max_records records or max_seconds after its first record, whichever first."""

    max_records: int
    max_seconds: float

    def due(self, count: int, first_at: float | None, now: float) -> bool:
        """Whether the batch should be committed now."""
        if count >= self.max_records:
            return True
        return first_at is not None and now - first_at >= self.max_seconds


def resume_offsets(
    committed: Mapping[str, Mapping[TopicPartition, int | None]],
    partitions: Iterable[TopicPartition],
    tables_of_topic: Mapping[str, Iterable[str]],
) -> dict[TopicPartition, int]:
    """Next offset to read per partition: after the lowest version committed by any table it feeds (0 if none)."""
    resume = {}
    for tp in partitions:
        versions = [committed.get(table, {}).get(tp) for table in tables_of_topic[tp[0]]]
        resume[tp] = 0 if any(v is None for v in versions) else min(v for v in versions if v is not None) + 1
    return resume


def uncommitted(rows: Iterable[Mapping[str, Any]], committed: Mapping[TopicPartition, int | None]) -> list[Any]:
    """Rows whose Kafka offset is past what the table already committed for their partition."""
    out = []
    for row in rows:
        done = committed.get((row["kafka_topic"], row["kafka_partition"]))
        if done is None or row["kafka_offset"] > done:
            out.append(row)
    return out


def transactions_to_commit(
    batch_last_offsets: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int | None],
    topics: Iterable[str],
) -> dict[TopicPartition, int]:
    """App transaction versions a table's commit records: partitions of its topics that moved past the log."""
    wanted = set(topics)
    out = {}
    for tp, last in batch_last_offsets.items():
        done = committed.get(tp)
        if tp[0] in wanted and (done is None or last > done):
            out[tp] = last
    return out
