import copy
import gzip
import hashlib
import json
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import pytest

from models import calibration, datagen, embeddings, reproduce
from models.build import artifacts_intact, build, default_cache_dir
from udfs.model_registry import COMMITTED_REGISTRY, Registry, sha256_file
from udfs.responses import CHANNELS, DEFAULT_LIBRARY, LibraryError, ResponseLibrary
from udfs.scores import INTENT_LABELS

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
        "intent@1", "intent@2", "intent@3", "intent@4", "sentiment@1", "compliance@1", "embedder@1",
        "response_index@2026.11.0",
    }  # fmt: skip
    for ref, manifest in registry.entries.items():
        assert REQUIRED_FIELDS <= set(manifest), ref
        assert all(len(a["sha256"]) == 64 for a in manifest["artifacts"].values())
    assert str(registry.champion("intent")) == "intent@1" and str(registry.challenger("intent")) == "intent@2"
    intent = registry.entries["intent@1"]
    assert sorted(intent["labels"]) == sorted(INTENT_LABELS)
    assert set(intent["metrics"]["per_label"]) == set(INTENT_LABELS)
    data = gzip.decompress((datagen.DATA_DIR / "intent.jsonl.gz").read_bytes())
    assert intent["training_data"]["sha256"] == hashlib.sha256(data).hexdigest()
    probes, _ = reproduce.load_probes()
    assert 30 <= len(probes) <= 50 and len(set(probes)) == len(probes)
    for ref, manifest in registry.entries.items():
        assert reproduce.same_probes(manifest.get("probes"), reproduce.probe_key()), f"{ref}: probe outputs are stale"
        outputs = manifest["probes"]["outputs"]
        assert len(outputs.get("top", outputs.get("head", []))) == len(probes), ref


def test_minilm_intent_models_are_calibrated_on_generated_data_only() -> None:
    entries = Registry.load(COMMITTED_REGISTRY).entries
    head, ensemble = entries["intent@3"], entries["intent@4"]
    assert [i["name"] for i in head["inputs"]] == ["embedding"]
    assert [i["name"] for i in ensemble["inputs"]] == ["text", "embedding"]
    assert head["labels"] == ensemble["labels"] == entries["intent@1"]["labels"]
    for manifest in (head, ensemble):
        assert manifest["embedder"] == "embedder@1" and manifest["text_fallback"] == "intent@1"
        assert manifest["training_data"]["file"] == "models/data/intent.jsonl.gz"
        assert "generated held-out" in manifest["calibration"]["fitted_on"]
        metrics = manifest["metrics"]
        assert 0 < metrics["n_calibration"] < metrics["n_heldout"] and metrics["heldout_families"] == 560
        assert 0.0 <= metrics["ece_calibrated"] <= 0.05, "calibrated on held-out families, measured on the others"
    assert set(ensemble["depends_on"]) == {"intent@1", "intent@3", "embedder@1"}
    assert ensemble["metrics"]["accuracy"] > entries["intent@1"]["metrics"]["accuracy"] > head["metrics"]["accuracy"]


def test_calibration_recovers_a_known_temperature_and_measures_ece() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 5)) * 3.0
    # Labels drawn from softmax(logits / 2): the fitted temperature must come out near 2.
    p = calibration.softmax(logits / 2.0)
    labels = [rng.choice(5, p=row) for row in p]
    assert calibration.fit_temperature(logits, labels) == pytest.approx(2.0, abs=0.15)
    assert calibration.ece(p, labels) < 0.03 < calibration.ece(calibration.softmax(logits), labels)


def test_the_embedding_sample_keeps_every_family_and_splits_held_out_families_in_two() -> None:
    records = _records("intent")
    sample = embeddings.sample(records, "heldout", 3)
    families = {r["family"] for r in records if r["split"] == "heldout"}
    assert {r["family"] for r in sample} == families and len(sample) == 3 * len(families)
    again = embeddings.sample(list(reversed(records)), "heldout", 3)  # chosen by text hash, not position

    def key(r: dict) -> tuple[str, str]:
        return r["family"], r["text"]

    assert sorted(sample, key=key) == sorted(again, key=key)
    halves = [embeddings.is_calibration(f) for f in families]
    assert 0.4 < sum(halves) / len(halves) < 0.6


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build of every model (it fails if an artifact does not reproduce the pin)."""
    out = tmp_path_factory.mktemp("fresh")
    build(out, report=False)
    return out


def _fake_sha(entry: dict) -> dict:
    """A pin whose artifact hashes differ from any build, so the tolerance checks run."""
    entry = copy.deepcopy(entry)
    for art in entry["artifacts"].values():
        art["sha256"] = "0" * 64
    return entry


def test_fresh_build_reproduces_the_pin(fresh: Path) -> None:
    built = Registry.load(fresh / "registry.json")
    pinned = Registry.load(COMMITTED_REGISTRY)
    assert set(built.entries) == set(pinned.entries)
    for ref, manifest in built.entries.items():
        pin = pinned.entries[ref]
        assert manifest["build"]["fingerprint"] == pin["build"]["fingerprint"], ref
        rec = manifest["reproduction"]
        if rec["status"] == "exact":
            assert manifest["artifacts"] == pin["artifacts"], ref
            continue
        assert rec["status"] == "within_tolerance", ref
        assert rec["pinned_artifacts"] == {role: a["sha256"] for role, a in pin["artifacts"].items()}, ref
        assert rec["max_output_diff"] <= reproduce.tolerance(manifest), ref
        assert reproduce.metrics_diff(manifest["metrics"], pin["metrics"]) is None, ref
    # The local manifest is what the job loads from: the artifacts there must match it.
    assert all(artifacts_intact(fresh, m) for m in built.entries.values())


def test_a_perturbed_artifact_or_pin_is_not_reproduced(fresh: Path, tmp_path: Path) -> None:
    built = Registry.load(fresh / "registry.json").entries
    pin = Registry.load(COMMITTED_REGISTRY).entries["intent@1"]
    manifest = {k: v for k, v in built["intent@1"].items() if k != "reproduction"}
    assert reproduce.reproduction(manifest, _fake_sha(pin))["status"] == "within_tolerance"

    # Same file name and fingerprint, but one class's intercept moved: its probabilities move too.
    model = onnx.load(fresh / "intent-1.onnx")
    node = next(n for n in model.graph.node if n.op_type == "LinearClassifier")
    intercepts = next(a for a in node.attribute if a.name == "intercepts")
    intercepts.floats[0] += 1.0
    onnx.save(model, tmp_path / "intent-1.onnx")
    perturbed = dict(
        manifest, artifacts={"model": {"file": "intent-1.onnx", "sha256": sha256_file(tmp_path / "intent-1.onnx")}}
    )
    perturbed["probes"] = reproduce.probe_record(tmp_path, perturbed, {})
    with pytest.raises(reproduce.NotReproducedError, match=r"intent@1: sha256 .* differ by .*--write-registry") as err:
        reproduce.reproduction(perturbed, pin)
    assert "\n" not in str(err.value)

    # A pinned probe output moved by twice the tolerance, another fingerprint, a metric beyond its tolerance.
    moved = _fake_sha(pin)
    top = moved["probes"]["outputs"]["top"][7]
    label = max(top, key=top.get)
    top[label] += 2 * reproduce.PROBABILITY_TOLERANCE
    with pytest.raises(reproduce.NotReproducedError, match=f"at probe 7 {label}"):
        reproduce.reproduction(manifest, moved)
    other = _fake_sha(pin)
    other["build"]["fingerprint"] = "f" * 64
    with pytest.raises(reproduce.NotReproducedError, match="build fingerprint"):
        reproduce.reproduction(manifest, other)
    worse = _fake_sha(pin)
    worse["metrics"]["macro_f1"] -= 0.01
    with pytest.raises(reproduce.NotReproducedError, match="macro_f1"):
        reproduce.reproduction(manifest, worse)
    index = Registry.load(COMMITTED_REGISTRY).entries["response_index@2026.11.0"]
    shifted = _fake_sha(index)
    first = shifted["probes"]["outputs"]["top"][0]
    first[next(iter(first))] -= 2 * reproduce.EMBEDDING_TOLERANCE
    with pytest.raises(reproduce.NotReproducedError, match="response_index@2026.11.0: sha256"):
        reproduce.reproduction(built["response_index@2026.11.0"], shifted)


def test_build_refuses_and_leaves_no_registry_when_the_pin_differs(fresh: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    shutil.copytree(fresh, out)
    doc = json.loads(COMMITTED_REGISTRY.read_text())
    for entry in doc["models"]:
        if entry["name"] == "sentiment":
            entry.update(_fake_sha(entry))
            entry["probes"]["outputs"]["top"][20]["positive"] -= 0.5
    pin = tmp_path / "pin.json"
    pin.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match=r"^models.build: error: sentiment@1: sha256 .* at probe 20 positive") as err:
        build(out, report=False, pin=pin)
    assert "\n" not in str(err.value.code)
    assert not (out / "registry.json").exists()  # so the job refuses to load from it


def test_build_skips_what_is_up_to_date() -> None:
    out = default_cache_dir()
    build(out, report=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.onnx")}
    t0 = time.perf_counter()
    build(out, report=False)
    assert time.perf_counter() - t0 < 5.0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.onnx")} == before
