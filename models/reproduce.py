"""Does a fresh build reproduce the release pinned in models/registry.json? Probe outputs and tolerances.

The same data and code give artifacts whose bytes differ in the last bits on another CPU or BLAS: lbfgs stops
at a slightly different point, onnxruntime sums in another order. So a rebuild is compared with its pin:

- identical sha256 of every artifact: reproduced exactly;
- else the same build fingerprint (data, code, params, tool versions), the same probe set, outputs on the probe
  texts (`probes.json`) within the tolerances below and metrics within `METRIC_TOLERANCE`: reproduced within
  tolerance;
- else not reproduced: `NotReproducedError` with one line saying what differs and how to re-pin.

Per probe, a model's outputs are recorded as its `TOP_K` highest {label or template id: value} (class
probabilities, cosine scores of the template index), the embedder's as its first `EMBED_HEAD` values. Two
records agree when every pinned value is within the tolerance and nothing else rises above the lowest pinned
value by more than it: the top-k (and the argmax) are the same, except between entries whose pinned values
are themselves within twice the tolerance (ties).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.common import ROOT, sha256_bytes
from udfs.deep_tier import Embedder
from udfs.model_registry import MANIFEST_NAME, ModelRef, Registry, resolve, session_options

PROBES = Path(__file__).resolve().parent / "probes.json"
TOP_K = 3  # entries recorded per probe: the ranker shows 3 templates, the fast tier uses the argmax
EMBED_HEAD = 4  # leading embedding dimensions recorded per probe for the embedder
DECIMALS = 6  # rounding of recorded outputs (float32 carries ~7 significant digits)
# Class probabilities. Measured: intent@2 trained with numpy's AVX2/FMA kernels off and OpenBLAS's SandyBridge
# kernels moved by up to 3.8e-3 (lbfgs stops at its tol=1e-4 elsewhere); intent@1 3.4e-6, sentiment 2.4e-5,
# compliance 2.4e-7. Scores of another model (intent@1 against intent@2) differ by up to 0.52.
PROBABILITY_TOLERANCE = 1e-2
# Embedding values and cosine scores: another onnxruntime kernel order (graph optimisation level, threads)
# moved them by at most 4.2e-7.
EMBEDDING_TOLERANCE = 1e-4
# Held-out metrics: a few turns near a decision boundary may flip (measured: accuracy 4e-4, a per-label value
# 6e-3, i.e. one turn of 160). Counts (n_train, support, ...) must be equal; onnx_max_abs_diff is not compared
# (the build itself requires it to stay below 1e-4). ECE of the MiniLM intent models (~800 turns): not yet
# measured on another machine; 0.01 allows a few flipped turns and a slightly different fitted temperature.
METRIC_TOLERANCE = {
    "macro_f1": 0.005,
    "accuracy": 0.005,
    "per_label": 0.02,
    "ece_uncalibrated": 0.01,
    "ece_calibrated": 0.01,
}
REPIN = "re-pin with `python -m models.build --write-registry` if that is intended"


class NotReproducedError(ValueError):
    """A fresh artifact does not reproduce its pin; the message is one line."""


def load_probes(path: Path = PROBES) -> tuple[list[str], str]:
    """The probe texts and the sha256 of the probe file."""
    raw = path.read_bytes()
    probes = json.loads(raw)["probes"]
    if not probes or not all(isinstance(p, str) and p for p in probes):
        raise SystemExit(f"models.build: error: {path} must hold a non-empty list of probe texts under 'probes'")
    return probes, sha256_bytes(raw)


def _top(values: np.ndarray, ids: Sequence[str]) -> list[dict[str, float]]:
    """Per row, the TOP_K highest entries as {id: rounded value}."""
    order = np.argsort(-values, axis=1, kind="stable")[:, :TOP_K]
    return [{ids[j]: round(float(row[j]), DECIMALS) for j in idx} for row, idx in zip(values, order, strict=True)]


def _embedder(models_dir: Path, ref: str, manifests: Mapping[str, dict[str, Any]]) -> Embedder:
    reg = Registry(models_dir / MANIFEST_NAME, {ref: manifests[ref]})
    _, paths = resolve(models_dir, ModelRef.parse(ref), [reg])
    return Embedder.open(paths)


def raw_outputs(models_dir: Path, manifest: dict[str, Any], manifests: Mapping[str, dict[str, Any]]) -> np.ndarray:
    """The model's outputs on the probes, one row per probe (probabilities, embeddings or template scores)."""
    import onnxruntime as ort

    probes, _ = load_probes()
    if manifest["task"].startswith("text-classification"):
        path = models_dir / manifest["artifacts"]["model"]["file"]
        sess = ort.InferenceSession(str(path), sess_options=session_options(), providers=["CPUExecutionProvider"])
        names = {i["name"] for i in manifest["inputs"]}
        feed = {"text": np.array(probes, dtype=object).reshape(-1, 1)} if "text" in names else {}
        if "embedding" in names:  # the MiniLM intent models take the sentence embedding of their `embedder`
            embedder = _embedder(models_dir, manifest["embedder"], manifests)
            feed["embedding"] = np.stack([embedder.embed(p) for p in probes])
        return np.asarray(sess.run(["probabilities"], feed)[0])
    if manifest["task"] == "sentence-embedding":
        embedder = _embedder(models_dir, f"{manifest['name']}@{manifest['version']}", manifests)
        return np.stack([embedder.embed(p) for p in probes])
    if manifest["task"] == "template-embeddings":
        embedder = _embedder(models_dir, manifest["depends_on"][0], manifests)
        matrix = np.load(models_dir / manifest["artifacts"]["model"]["file"], allow_pickle=False)
        return np.stack([embedder.embed(p) for p in probes]) @ matrix.T
    raise SystemExit(f"models.build: error: no probe outputs defined for task {manifest['task']!r}")


def probe_key() -> dict[str, Any]:
    """What a probe record depends on besides the model: the probe file's sha256 and how outputs are recorded."""
    _, probes_sha = load_probes()
    return {"sha256": probes_sha, "recorded": {"top_k": TOP_K, "embed_head": EMBED_HEAD, "decimals": DECIMALS}}


def same_probes(a: Mapping[str, Any] | None, b: Mapping[str, Any]) -> bool:
    """Whether two probe records (or a record and `probe_key()`) are of the same probes, recorded the same way."""
    return a is not None and a.get("sha256") == b["sha256"] and a.get("recorded") == b["recorded"]


def probe_record(models_dir: Path, manifest: dict[str, Any], manifests: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The `probes` field of a manifest: probe file, its sha256, how outputs are recorded, the model's outputs."""
    values = raw_outputs(models_dir, manifest, manifests)
    if manifest["task"] == "sentence-embedding":
        outputs: dict[str, Any] = {"head": np.round(values[:, :EMBED_HEAD], DECIMALS).tolist()}
    else:
        outputs = {"top": _top(values, manifest["labels"])}
    return {"file": str(PROBES.relative_to(ROOT)), **probe_key(), "outputs": outputs}


def tolerance(manifest: Mapping[str, Any]) -> float:
    """The output tolerance of a model: probabilities for classifiers, cosine/embedding values otherwise."""
    return PROBABILITY_TOLERANCE if manifest["task"].startswith("text-classification") else EMBEDDING_TOLERANCE


def output_diff(fresh: Mapping[str, Any], pinned: Mapping[str, Any]) -> tuple[float, str]:
    """Largest deviation of fresh probe outputs from pinned ones, and where it is (`probe <i> <label>`).

    An entry in only one of the two top-k lists counts by how far it is above the other list's last value
    (its exact value there is not recorded, only that it is below that last value).
    """
    if "head" in pinned:
        a, b = np.asarray(fresh.get("head")), np.asarray(pinned["head"])
        if a.shape != b.shape:
            return float("inf"), f"shape {a.shape} vs {b.shape}"
        row, col = np.unravel_index(int(np.abs(a - b).argmax()), a.shape)
        return float(abs(a[row, col] - b[row, col])), f"probe {row} value {col}"
    if len(fresh.get("top", ())) != len(pinned["top"]):
        return float("inf"), "number of probes"
    worst, where = 0.0, ""
    for i, (f_top, p_top) in enumerate(zip(fresh["top"], pinned["top"], strict=True)):
        f_vals, p_vals = dict(f_top), dict(p_top)
        f_floor, p_floor = min(f_vals.values()), min(p_vals.values())
        for label in sorted(f_vals.keys() | p_vals.keys()):
            if label in f_vals and label in p_vals:
                d, note = abs(f_vals[label] - p_vals[label]), ""
            elif label in f_vals:
                d, note = max(0.0, f_vals[label] - p_floor), f" entered the top {TOP_K}"
            else:
                d, note = max(0.0, p_vals[label] - f_floor), f" left the top {TOP_K}"
            if d > worst:
                worst, where = d, f"probe {i} {label}{note}"
    return worst, where


def metrics_diff(fresh: Mapping[str, Any], pinned: Mapping[str, Any]) -> str | None:
    """The first metric that differs beyond METRIC_TOLERANCE (counts must be equal), said in words, or None."""
    for key in sorted(set(fresh) | set(pinned)):
        a, b = fresh.get(key), pinned.get(key)
        if key == "onnx_max_abs_diff":
            continue
        if key != "per_label":
            tol = METRIC_TOLERANCE.get(key, 0.0)
            if not _close(a, b, tol):
                return f"{key} {a} differs from the pinned {b} by more than {tol:g}"
            continue
        tol = METRIC_TOLERANCE["per_label"]
        for label in sorted(set(a or {}) | set(b or {})):
            fa, fb = (a or {}).get(label, {}), (b or {}).get(label, {})
            for name in sorted(set(fa) | set(fb)):
                if not _close(fa.get(name), fb.get(name), 0.0 if name == "support" else tol):
                    return f"{label} {name} {fa.get(name)} differs from the pinned {fb.get(name)} by more than {tol:g}"
    return None


def _close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, bool) or not isinstance(a, float | int) or not isinstance(b, float | int):
        return bool(a == b)
    return abs(a - b) <= tol + 1e-9


def reproduction(fresh: Mapping[str, Any], pinned: Mapping[str, Any] | None) -> dict[str, Any]:
    """How `fresh` reproduces `pinned`: the `reproduction` field of the local manifest; else NotReproducedError."""
    ref = f"{fresh['name']}@{fresh['version']}"
    if pinned is None:
        raise NotReproducedError(f"{ref} is not pinned in models/registry.json; {REPIN}")
    fresh_shas = {role: a["sha256"] for role, a in fresh["artifacts"].items()}
    pinned_shas = {role: a["sha256"] for role, a in pinned["artifacts"].items()}
    if fresh_shas == pinned_shas:
        return {"status": "exact"}
    fp, pinned_fp = fresh["build"]["fingerprint"], pinned.get("build", {}).get("fingerprint")
    if fp != pinned_fp:
        raise NotReproducedError(
            f"{ref}: build fingerprint {fp} differs from the pinned {pinned_fp} (data, code, params or tool "
            f"versions changed); {REPIN}"
        )
    differs = f"{ref}: sha256 {_shas(fresh_shas)} differs from the pinned {_shas(pinned_shas)}"
    probes, pinned_probes = fresh["probes"], pinned.get("probes")
    if set(fresh_shas) != set(pinned_shas) or not same_probes(pinned_probes, probes):
        raise NotReproducedError(
            f"{differs}, and the pin has no outputs on {probes['file']} (sha256 {probes['sha256']}, recorded as "
            f"{probes['recorded']}) to compare with; {REPIN}"
        )
    tol = tolerance(fresh)
    diff, where = output_diff(probes["outputs"], pinned["probes"]["outputs"])
    if diff > tol:
        raise NotReproducedError(
            f"{differs}, and its outputs on {probes['file']} differ by {diff:.3g} at {where} (tolerance {tol:g}); "
            f"{REPIN}"
        )
    metric = metrics_diff(fresh["metrics"], pinned["metrics"])
    if metric is not None:
        raise NotReproducedError(f"{differs}, and its held-out {metric}; {REPIN}")
    return {
        "status": "within_tolerance",
        "pinned_artifacts": pinned_shas,
        "max_output_diff": float(f"{diff:.3g}"),
        "tolerance": tol,
    }


def _shas(shas: Mapping[str, str]) -> str:
    return ", ".join(f"{role} {sha}" for role, sha in sorted(shas.items()))
