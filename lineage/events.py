"""OpenLineage run events (START / COMPLETE / FAIL) for cuecard's jobs, as JSON lines in a file.

`emit_job_event` is the one entry point: the coaching job submitter and the audit writer call it with
their input and output datasets. Kafka topics are named `kafka://host:port` / topic and Delta tables
`file` / absolute path, as the OpenLineage naming spec says; tables carry a schema facet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from udfs.settings import load_settings
from udfs.topics import INPUT_TOPICS, OUTPUT_TOPICS, names

JOB_NAMESPACE = "cuecard"
PRODUCER = "https://github.com/cuecard/cuecard/tree/main/lineage"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT")
COACHING_INPUTS = names(INPUT_TOPICS)
COACHING_OUTPUTS = names(OUTPUT_TOPICS)


def events_file() -> Path:
    """Where events go: CUECARD_LINEAGE_FILE, else lineage/events.jsonl in the run dir (CUECARD_RUN_DIR)."""
    return load_settings().lineage_file


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as OpenLineage names it, with optional schema fields (name, type, description)."""

    namespace: str
    name: str
    fields: tuple[tuple[str, str, str], ...] = ()


def kafka_dataset(bootstrap: str, topic: str) -> DatasetRef:
    """A Kafka topic of the broker at `bootstrap`."""
    return DatasetRef(f"kafka://{bootstrap.split(',')[0]}", topic)


def delta_dataset(path: Path, fields: Iterable[tuple[str, str, str]] = ()) -> DatasetRef:
    """A Delta table on the local file system, with its columns."""
    return DatasetRef("file", str(Path(path).resolve()), tuple(fields))


def coaching_job_datasets(bootstrap: str) -> tuple[list[DatasetRef], list[DatasetRef]]:
    """Inputs and outputs of the coaching job (topics of the contract)."""
    return (
        [kafka_dataset(bootstrap, t) for t in COACHING_INPUTS],
        [kafka_dataset(bootstrap, t) for t in COACHING_OUTPUTS],
    )


def emit_job_event(
    job_name: str,
    event_type: str,
    inputs: Sequence[DatasetRef],
    outputs: Sequence[DatasetRef],
    run_id: str | None = None,
    path: Path | None = None,
) -> str:
    """Append one OpenLineage RunEvent to the events file; returns the run id (new one if not given)."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import schema_dataset
    from openlineage.client.transport.file import FileConfig, FileTransport

    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type {event_type!r} is not one of {EVENT_TYPES}")
    run_id = run_id or str(uuid.uuid4())
    target = path or events_file()
    target.parent.mkdir(parents=True, exist_ok=True)

    def facets(ref: DatasetRef) -> dict:
        if not ref.fields:
            return {}
        columns = [schema_dataset.SchemaDatasetFacetFields(name=n, type=t, description=d) for n, t, d in ref.fields]
        return {"schema": schema_dataset.SchemaDatasetFacet(fields=columns)}

    event = RunEvent(
        eventType=RunState[event_type],
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace=JOB_NAMESPACE, name=job_name),
        producer=PRODUCER,
        inputs=[InputDataset(namespace=d.namespace, name=d.name, facets=facets(d)) for d in inputs],
        outputs=[OutputDataset(namespace=d.namespace, name=d.name, facets=facets(d)) for d in outputs],
    )
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(target), append=True)))
    client.emit(event)
    return run_id
