"""The audit lake writer: `coaching.audit` and `coaching.dlq` (read_committed) -> append-only Delta tables.

Micro-batches close at --max-records or --max-seconds, whichever first. Each batch is flattened into
table rows, checked by the Great Expectations gate (failing rows go to `quarantine` with the expectation
names), hash-chained per table and date, and committed table by table. Every commit carries one Delta app
transaction per topic-partition (version = the batch's last offset there); on start the writer reads those
versions, seeks past the lowest, and drops rows a table already holds, so a SIGKILL at any moment followed
by a restart leaves every record in the tables exactly once. SIGTERM/SIGINT finish the open batch and exit 0.

Run: python -m auditlake.writer --help
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from auditlake.batching import BatchPolicy, TopicPartition, resume_offsets, transactions_to_commit, uncommitted
from auditlake.chain import chain_rows
from auditlake.quality import QualityGate
from auditlake.rows import KafkaCoords, flatten_record, quarantine_row
from auditlake.store import AuditStore, default_root
from auditlake.tables import AUDIT_TOPIC, CHAIN_COLUMNS, DLQ_TOPIC, QUALITY_TABLES, TABLES, tables_fed_by
from udfs.settings import SettingsError, load_settings

JOB_NAME = "cuecard-audit-writer"

BOOTSTRAP_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class WriterConfig:
    """Everything the writer needs; `validate()` gives one-line errors naming the env var."""

    bootstrap: str
    root: Path
    topics: tuple[str, ...] = (AUDIT_TOPIC, DLQ_TOPIC)
    max_records: int = 1000
    max_seconds: float = 2.0
    idle_exit: float | None = None
    quality: bool = True
    lineage: bool = True

    def validate(self) -> WriterConfig:
        """Check ranges and topic names; returns self."""
        if self.max_records < 1:
            raise SettingsError(f"CUECARD_AUDIT_BATCH_RECORDS={self.max_records} must be a positive whole number")
        if self.max_seconds <= 0:
            raise SettingsError(f"CUECARD_AUDIT_BATCH_SECONDS={self.max_seconds} must be more than 0")
        unknown = set(self.topics) - {AUDIT_TOPIC, DLQ_TOPIC}
        if unknown:
            raise SettingsError(f"--topics {sorted(unknown)}: the writer reads only {AUDIT_TOPIC} and {DLQ_TOPIC}")
        return self


@dataclass
class BatchStats:
    """What one batch did: records read, rows committed per table, rows skipped as already committed."""

    records: int = 0
    committed: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    quality_seconds: float = 0.0
    commit_seconds: float = 0.0

    def line(self, number: int) -> str:
        """One progress line."""
        tables = " ".join(f"{t}={n}" for t, n in self.committed.items() if n)
        return (
            f"[audit-writer] batch {number}: {self.records} records -> {tables or 'no rows'}"
            f"{f' (skipped {self.skipped} already committed)' if self.skipped else ''}"
            f" quality {self.quality_seconds * 1000:.0f} ms, commit {self.commit_seconds * 1000:.0f} ms"
        )


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k not in CHAIN_COLUMNS}


class AuditWriter:
    """Consumes the audit topics and commits micro-batches to the Delta tables exactly once."""

    def __init__(self, config: WriterConfig, out: Callable[[str], None] = print) -> None:
        self.config = config
        self.out = out
        self.store = AuditStore(config.root)
        self.gate = QualityGate()
        self.consumer: Any = None
        self.partitions: list[TopicPartition] = []
        self.committed: dict[str, dict[TopicPartition, int | None]] = {}
        self.heads: dict[str, dict] = {}
        self.stopping = False
        self.batches = 0
        self.totals: dict[str, int] = {name: 0 for name in TABLES}

    def open(self) -> AuditWriter:
        """Create/load the tables, the quality gate and a consumer positioned after what is committed."""
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KafkaTP
        from kafka.errors import KafkaError

        try:
            self.consumer = KafkaConsumer(
                bootstrap_servers=self.config.bootstrap,
                isolation_level="read_committed",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                group_id=None,
                max_poll_records=self.config.max_records,
                # A local broker answers in milliseconds; waiting the default 30 s only delays the error.
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            )
        except KafkaError as err:
            raise SettingsError(
                f"no Kafka broker answers at {self.config.bootstrap} ({type(err).__name__}); "
                "start the stack (`cuecard up`) or pass --bootstrap HOST:PORT"
            ) from None
        # After the broker check: loading the quality gate takes seconds, a missing broker should not.
        self.store.open()
        if self.config.quality:
            self.gate.load()
        for topic in self.config.topics:
            found = self.consumer.partitions_for_topic(topic)
            if not found:
                raise SettingsError(f"topic {topic} not found at {self.config.bootstrap}; start the stack (cuecard up)")
            self.partitions += [(topic, p) for p in sorted(found)]
        resume = self.prepare(self.partitions)
        self.consumer.assign([KafkaTP(*tp) for tp in self.partitions])
        for tp, offset in resume.items():
            self.consumer.seek(KafkaTP(*tp), offset)
        self.out(f"[audit-writer] tables at {self.config.root}; resuming at {_describe(resume)}")
        return self

    def prepare(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """Read each table's committed versions and chain heads; returns the offset to resume at per partition."""
        self.partitions = list(partitions)
        tables = {t for topic in self.config.topics for t in tables_fed_by(topic)}
        for table in tables:
            self.committed[table] = self.store.committed(table, self.partitions)
            self.heads[table] = self.store.heads(table)
        feeds = {topic: [t for t in tables_fed_by(topic) if t in tables] for topic in self.config.topics}
        return resume_offsets(self.committed, self.partitions, feeds)

    def process(self, records: Sequence[Any]) -> BatchStats:
        """Flatten, gate, chain and commit one batch of consumer records."""
        stats = BatchStats(records=len(records))
        now = datetime.now(UTC)
        last: dict[TopicPartition, int] = {}
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        for record in records:
            coords = KafkaCoords(record.topic, record.partition, record.offset)
            last[(record.topic, record.partition)] = max(record.offset, last.get((record.topic, record.partition), -1))
            for table, row in flatten_record(record.value, coords, now):
                pending[table].append(row)
        # The gate sees every row of the batch, committed or not, so a retried batch re-derives its quarantine rows.
        for table in QUALITY_TABLES:
            report = self.gate.check(table, pending[table])
            stats.quality_seconds += report.seconds
            passed = []
            for index, row in enumerate(pending[table]):
                names = report.failures.get(index)
                if names is None:
                    passed.append(row)
                    continue
                coords = KafkaCoords(row["kafka_topic"], row["kafka_partition"], row["kafka_offset"])
                key = row.get(TABLES[table].key)
                pending["quarantine"].append(
                    quarantine_row(table, key, names, _jsonable(row), coords, now, day=row["date"])
                )
            pending[table] = passed
        started = time.perf_counter()
        for table, committed in self.committed.items():
            spec = TABLES[table]
            transactions = transactions_to_commit(last, committed, spec.topics)
            if not transactions:
                continue
            # delta-rs accepts a version that does not increase: re-read what the log holds and skip it here.
            committed = self.store.committed(table, committed)
            transactions = transactions_to_commit(last, committed, spec.topics)
            if not transactions:
                continue
            rows = uncommitted(pending[table], committed)
            stats.skipped += len(pending[table]) - len(rows)
            heads = chain_rows(rows, self.heads[table], spec.column_names)
            summary = _chain_summary(rows)
            self.store.commit(table, rows, transactions, summary)
            self.heads[table] = heads
            self.committed[table] = {**committed, **transactions}
            stats.committed[table] = len(rows)
            self.totals[table] += len(rows)
        stats.commit_seconds = time.perf_counter() - started
        return stats

    def run(self) -> int:
        """Poll and commit until stopped (SIGTERM/SIGINT) or idle for `idle_exit` seconds."""
        policy = BatchPolicy(self.config.max_records, self.config.max_seconds)
        batch: list[Any] = []
        first_at: float | None = None
        last_record_at = time.monotonic()
        while not self.stopping:
            due_at = (first_at or time.monotonic()) + self.config.max_seconds
            wait = due_at - time.monotonic()
            polled = self.consumer.poll(
                timeout_ms=int(max(0.0, min(wait, 0.5)) * 1000), max_records=self.config.max_records - len(batch)
            )
            for tp in sorted(polled, key=lambda p: (p.topic, p.partition)):
                batch.extend(polled[tp])
            now = time.monotonic()
            if polled:
                last_record_at = now
                first_at = first_at or now
            if batch and policy.due(len(batch), first_at, now):
                self._commit(batch)
                batch, first_at = [], None
            if self.config.idle_exit is not None and not batch and now - last_record_at >= self.config.idle_exit:
                break
        if batch:
            self._commit(batch)
        totals = " ".join(f"{t}={n}" for t, n in self.totals.items())
        self.out(f"[audit-writer] stopped after {self.batches} batches; rows committed: {totals}")
        return 0

    def _commit(self, batch: Sequence[Any]) -> None:
        stats = self.process(batch)
        self.batches += 1
        self.out(stats.line(self.batches))

    def stop(self, _signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Finish the open batch and leave the loop (signal handler)."""
        self.stopping = True

    def close(self) -> None:
        """Close the consumer."""
        if self.consumer is not None:
            self.consumer.close()


def _chain_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per date: first/last chain_seq, last row_hash and row count of a commit (written into its commitInfo)."""
    summary: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = summary.setdefault(row["date"], {"first": row["chain_seq"], "rows": 0})
        entry.update(last=row["chain_seq"], hash=row["row_hash"], rows=entry["rows"] + 1)
    return summary


def _describe(resume: Mapping[TopicPartition, int]) -> str:
    return ", ".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(resume.items()))


def lineage_datasets(config: WriterConfig) -> tuple[list[Any], list[Any]]:
    """Inputs (topics) and outputs (tables with schema) of the writer, for OpenLineage."""
    from lineage.events import delta_dataset, kafka_dataset

    inputs = [kafka_dataset(config.bootstrap, topic) for topic in config.topics]
    outputs = [
        delta_dataset(config.root / name, [(c.name, str(c.type), c.doc) for c in spec.columns])
        for name, spec in TABLES.items()
    ]
    return inputs, outputs


DESCRIPTION = (
    "Write coaching.audit and coaching.dlq (read_committed) into append-only Delta tables, "
    "exactly once, with hash chains and Great Expectations gates. SIGTERM finishes the open batch."
)


def build_parser() -> argparse.ArgumentParser:
    """The writer's own parser (python -m auditlake.writer)."""
    parser = argparse.ArgumentParser(prog="python -m auditlake.writer", description=DESCRIPTION)
    add_options(parser)
    return parser


def add_options(parser: argparse.ArgumentParser) -> None:
    """Options of the writer, each with its env-var form."""
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: CUECARD_KAFKA_HOST:CUECARD_KAFKA_PORT)")
    parser.add_argument("--root", type=Path, help="tables' root directory (env CUECARD_AUDIT_DIR; .run/audit/delta)")
    parser.add_argument(
        "--max-records", type=int, help="close a batch at this many records (env CUECARD_AUDIT_BATCH_RECORDS; 1000)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        help="close a batch this long after its first record (env CUECARD_AUDIT_BATCH_SECONDS; 2)",
    )
    parser.add_argument("--topics", nargs="+", default=[AUDIT_TOPIC, DLQ_TOPIC], help="topics to read (default: both)")
    parser.add_argument(
        "--idle-exit", type=float, help="exit after this many seconds without records (backfills, tests)"
    )
    parser.add_argument("--no-quality", action="store_true", help="skip the GE gate (env CUECARD_AUDIT_QUALITY=0)")
    parser.add_argument(
        "--no-lineage", action="store_true", help="emit no OpenLineage events (else to env CUECARD_LINEAGE_FILE)"
    )


def config_from_args(args: argparse.Namespace) -> WriterConfig:
    """Merge command-line options over the settings (env vars and defaults), validated."""
    settings = load_settings()
    return WriterConfig(
        bootstrap=args.bootstrap or settings.bootstrap_servers,
        root=(args.root or default_root()).resolve(),
        topics=tuple(args.topics),
        max_records=args.max_records or settings.audit_batch_records,
        max_seconds=args.max_seconds or settings.audit_batch_seconds,
        idle_exit=args.idle_exit,
        quality=not args.no_quality and settings.audit_quality,
        lineage=not args.no_lineage,
    ).validate()


def run_writer(config: WriterConfig, out: Callable[[str], None] = print) -> int:
    """Open, run until stopped, close; emits OpenLineage START/COMPLETE/FAIL when enabled."""
    from lineage.events import emit_job_event

    writer = AuditWriter(config, out)
    signal.signal(signal.SIGTERM, writer.stop)
    signal.signal(signal.SIGINT, writer.stop)
    inputs, outputs = lineage_datasets(config)
    run_id = emit_job_event(JOB_NAME, "START", inputs, outputs) if config.lineage else None
    try:
        writer.open()
        code = writer.run()
    except BaseException:
        if config.lineage:
            emit_job_event(JOB_NAME, "FAIL", inputs, outputs, run_id=run_id)
        raise
    finally:
        writer.close()
    if config.lineage:
        emit_job_event(JOB_NAME, "COMPLETE", inputs, outputs, run_id=run_id)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m auditlake.writer`."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        return run_writer(config, out=lambda line: print(line, flush=True))
    except SettingsError as err:
        print(f"audit-writer: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
