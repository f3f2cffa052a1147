import json

import pytest

from lineage.events import coaching_job_datasets, delta_dataset, emit_job_event, kafka_dataset


@pytest.mark.unit
def test_run_events_as_json_lines(tmp_path):
    path = tmp_path / "lineage" / "events.jsonl"
    inputs, outputs = coaching_job_datasets("127.0.0.1:19092")
    run_id = emit_job_event("cuecard-coaching", "START", inputs, outputs, path=path)
    table = delta_dataset(tmp_path / "turns", [("audit_id", "string", "id")])
    emit_job_event(
        "cuecard-audit-writer", "COMPLETE", [kafka_dataset("h:1", "coaching.audit")], [table], run_id=run_id, path=path
    )
    start, complete = [json.loads(line) for line in path.read_text().splitlines()]
    assert start["eventType"] == "START" and complete["eventType"] == "COMPLETE"
    assert start["run"]["runId"] == complete["run"]["runId"] == run_id
    assert start["job"] == {"namespace": "cuecard", "name": "cuecard-coaching", "facets": {}}
    assert {d["name"] for d in start["inputs"]} >= {"conversation.events", "agent.feedback"}
    assert {d["name"] for d in start["outputs"]} == {
        "coaching.suggestions",
        "coaching.alerts",
        "coaching.audit",
        "coaching.dlq",
    }
    assert start["inputs"][0]["namespace"] == "kafka://127.0.0.1:19092"
    output = complete["outputs"][0]
    assert output["namespace"] == "file" and output["name"] == str((tmp_path / "turns").resolve())
    assert output["facets"]["schema"]["fields"][0]["name"] == "audit_id"


@pytest.mark.unit
def test_unknown_event_type_rejected(tmp_path):
    with pytest.raises(ValueError, match="not one of"):
        emit_job_event("x", "DONE", [], [], path=tmp_path / "e.jsonl")
