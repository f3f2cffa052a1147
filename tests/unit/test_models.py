import gzip
import hashlib
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import pytest

from models import datagen
from models.build import build, default_cache_dir
from udfs.responses import CHANNELS, DEFAULT_LIBRARY, LibraryError, ResponseLibrary
from udfs.scoring import COMMITTED_REGISTRY, INTENT_LABELS, Registry

pytestmark = pytest.mark.unit

REQUIRED_FIELDS = {
    "name", "version", "stage", "task", "inputs", "outputs", "labels", "artifacts",
    "training_data", "metrics", "created",
}  # fmt: skip


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in gzip.open(datagen.DATA_DIR / f"{name}.jsonl.gz", "rt", encoding="utf-8")]


def test_generator_reproduces_the_committed_data(tmp_path: Path) -> None:
    datagen.generate(tmp_path)
    for name in datagen.DATASETS:
        fresh = (tmp_path / f"{name}.jsonl.gz").read_bytes()
        assert fresh == (datagen.DATA_DIR / f"{name}.jsonl.gz").read_bytes(), name


def test_data_covers_the_contract_labels_and_splits_by_family() -> None:
    intents = _records("intent")
    assert sorted({r["label"] for r in intents}) == sorted(INTENT_LABELS)
    assert tuple(datagen.INTENT_FAMILIES) == INTENT_LABELS
    for name in datagen.DATASETS:
        splits_of_family: dict[str, set[str]] = defaultdict(set)
        for r in _records(name):
            splits_of_family[r["family"]].add(r["split"])
        assert all(len(s) == 1 for s in splits_of_family.values()), f"{name}: a family spans both splits"
        held = {r["label"] for r in _records(name) if r["split"] == "heldout"}
        assert held == {r["label"] for r in _records(name)}, f"{name}: a label has no held-out family"


def test_data_is_rich_and_noisy() -> None:
    texts = [r["text"] for r in _records("intent")]
    phrasings = sum(len(f) for fams in datagen.INTENT_FAMILIES.values() for f in fams)
    assert phrasings / len(INTENT_LABELS) >= 50
    assert sum(" um " in f" {t} " or " uh " in f" {t} " for t in texts) > 500  # voice fillers
    assert any("forty five" in t or "ninety nine" in t for t in texts)  # numbers spoken as words
    assert sum(t.count(".") >= 3 for t in texts) > 300  # long multi-sentence turns
    assert sum(" also " in t.lower() or " oh and " in t.lower() for t in texts) > 300  # a second request
    assert datagen.typo("definitely", random.Random(1)) != "definitely"
    assert datagen.number_to_words(349) == "three hundred and forty nine"
    risky = [r["text"].lower() for r in _records("compliance") if r["label"] == "risk"]
    assert any("guarantee" in t for t in risky) and any("promise" in t for t in risky)


def test_response_library_meets_the_contract() -> None:
    library = ResponseLibrary.load(intents=tuple(INTENT_LABELS))
    assert library.library_version == "2026.11.0"
    for intent in INTENT_LABELS:
        for channel in CHANNELS:
            replies = library.select(intent, channel, "reply")
            assert replies, (intent, channel)
            if channel == "voice":
                assert all(len(t.text) <= 200 for t in replies)
            if channel == "email":
                assert any(t.tone == "formal" for t in replies)
    kinds = {(t.intent, t.kind) for t in library.templates}
    assert sum((i, "knowledge") in kinds and (i, "next_action") in kinds for i in INTENT_LABELS) >= 15
    assert {t.tone for t in library.templates} == {"neutral", "empathetic", "formal"}
    assert all(t.version >= 1 and t.template_id.endswith(f".v{t.version}") for t in library.templates)
    refund = library.select("refund_request", "chat", "reply")[0]
    assert "refund_timeline" in refund.disclosures and "5 to 7 business days" in refund.text


def test_library_validation_rejects_placeholders() -> None:
    raw = json.loads(DEFAULT_LIBRARY.read_text())
    raw["templates"][0]["text"] = "Hello {customer_first_name_masked}"
    with pytest.raises(LibraryError, match="placeholder"):
        ResponseLibrary.from_dict(raw).validate()


def test_committed_registry_has_complete_manifests() -> None:
    registry = Registry.load(COMMITTED_REGISTRY)
    assert set(registry.entries) == {
        "intent@1", "intent@2", "sentiment@1", "compliance@1", "embedder@1", "response_index@2026.11.0",
    }  # fmt: skip
    for ref, manifest in registry.entries.items():
        assert REQUIRED_FIELDS <= set(manifest), ref
        assert all(len(a["sha256"]) == 64 for a in manifest["artifacts"].values())
    assert registry.champion("intent") is not None and str(registry.challenger("intent")) == "intent@2"
    intent = registry.entries["intent@1"]
    assert sorted(intent["labels"]) == sorted(INTENT_LABELS)
    assert set(intent["metrics"]["per_label"]) == set(INTENT_LABELS)
    data = gzip.decompress((datagen.DATA_DIR / "intent.jsonl.gz").read_bytes())
    assert intent["training_data"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_fresh_build_reproduces_the_committed_hashes(tmp_path: Path) -> None:
    build(tmp_path, report=False)
    fresh = Registry.load(tmp_path / "registry.json")
    pinned = Registry.load(COMMITTED_REGISTRY)
    assert set(fresh.entries) == set(pinned.entries)
    for ref, manifest in fresh.entries.items():
        assert manifest["artifacts"] == pinned.entries[ref]["artifacts"], ref
        assert manifest["metrics"] == pinned.entries[ref]["metrics"], ref


def test_build_skips_what_is_up_to_date() -> None:
    out = default_cache_dir()
    build(out, report=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.onnx")}
    t0 = time.perf_counter()
    build(out, report=False)
    assert time.perf_counter() - t0 < 5.0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.onnx")} == before
