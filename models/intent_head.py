"""Intent on MiniLM sentence embeddings: a logistic-regression head (intent@3) and its ensemble with TF-IDF (intent@4).

Both are trained or fitted only on the generated data: the head on a sample of the training split, the
temperatures on one half of the held-out families (`models.embeddings.is_calibration`); the other half
measures calibration (ECE before/after). The head's temperature is folded into its weights; the ensemble
is one ONNX graph over the text and its embedding: softmax(log(w * p_text^(1/T_text) / Z + (1 - w) * p_head) / T_mix).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.calibration import ece, fit_temperature, log_probs, softmax
from models.common import log, sha256_bytes
from models.embeddings import IntentSample
from models.fast_tier import ONNX_OPSET, per_label_metrics, serialize
from udfs.model_registry import session_options
from udfs.scores import INTENT_LABELS

EMBED_DIM = 384
TASK = "text-classification/intent"
TEXT_INPUT = {"name": "text", "type": "string", "shape": [None, 1]}
EMBEDDING_INPUT = {"name": "embedding", "type": "float32", "shape": [None, EMBED_DIM]}
CALIBRATION_NOTE = "generated held-out families with sha256(family)[0] even (models/embeddings.py)"


@dataclass(frozen=True)
class HeadSpec:
    """The MiniLM head: how much of the data it sees and its regularisation."""

    name: str
    version: str
    stage: str
    embedder: str
    text_fallback: str  # scores the turns that are not embedded (agent and system turns)
    train_per_family: int  # variants of each training family; all 13k turns would cost ~2 min of embedding
    heldout_per_family: int
    c: float
    description: str

    @property
    def ref(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class EnsembleSpec:
    """The served ensemble: which TF-IDF model and which head, and the TF-IDF model's weight."""

    name: str
    version: str
    stage: str
    text_model: str
    head_model: str
    text_weight: float
    description: str

    @property
    def ref(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"


# C and the sample size were chosen on the generated held-out split (models/REPORT.md), never on models/eval/.
HEAD = HeadSpec(
    "intent",
    "3",
    "candidate",
    "embedder@1",
    "intent@1",
    3,
    3,
    10.0,
    "logistic regression over the MiniLM sentence embedding (embedder@1), temperature-calibrated",
)
ENSEMBLE = EnsembleSpec(
    "intent",
    "4",
    "candidate",  # better on the eval, but its embedding on the fast path costs throughput (README)
    "intent@1",
    "intent@3",
    0.5,
    "average of the calibrated TF-IDF (intent@1) and MiniLM-head (intent@3) probabilities, temperature-calibrated; "
    "customer turns (other speakers: intent@1)",
)


def _labels(sample: IntentSample, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[r["label"]] for r in sample.train]), np.array([index[r["label"]] for r in sample.heldout])


def _metrics(sample: IntentSample, labels: list[str], raw: np.ndarray, served: np.ndarray, parity: float) -> dict:
    """Held-out metrics of the served probabilities; ECE before/after on the half not used for calibration."""
    _, y = _labels(sample, labels)
    test = ~sample.calibration
    metrics = per_label_metrics([labels[i] for i in y], [labels[i] for i in served.argmax(axis=1)], labels)
    metrics.update(
        n_train=len(sample.train),
        n_heldout=len(sample.heldout),
        heldout_families=len({r["family"] for r in sample.heldout}),
        n_calibration=int(sample.calibration.sum()),
        ece_uncalibrated=ece(raw[test], y[test]),
        ece_calibrated=ece(served[test], y[test]),
        onnx_max_abs_diff=round(parity, 8),
    )
    return metrics


def _run(model: bytes | Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    source = str(model) if isinstance(model, Path) else model
    sess = ort.InferenceSession(source, sess_options=session_options(), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(["probabilities"], feed)[0])


def _texts(sample: IntentSample) -> np.ndarray:
    return np.array([r["text"] for r in sample.heldout], dtype=object).reshape(-1, 1)


def _check_parity(ref: str, served: np.ndarray, expected: np.ndarray) -> float:
    parity = float(np.abs(served - expected).max())
    if parity > 1e-4:
        raise SystemExit(f"models.build: error: {ref} ONNX differs from its reference computation by {parity:.2g}")
    return parity


def _manifest(spec: HeadSpec | EnsembleSpec, inputs: list[dict], labels: list[str], blob: bytes, data_sha: str) -> dict:
    file = f"{spec.name}-{spec.version}.onnx"
    return {
        "name": spec.name,
        "version": spec.version,
        "stage": spec.stage,
        "task": TASK,
        "description": spec.description,
        "inputs": inputs,
        "outputs": [{"name": "probabilities", "type": "float32", "shape": [None, len(labels)]}],
        "labels": labels,
        "artifacts": {"model": {"file": file, "sha256": sha256_bytes(blob)}},
        "training_data": {"file": "models/data/intent.jsonl.gz", "sha256": data_sha},
    }


def build_head(spec: HeadSpec, out_dir: Path, sample: IntentSample, data_sha: str) -> dict[str, Any]:
    """Train the head on the embedded training sample, fold in its temperature, convert, check, evaluate."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    clf = LogisticRegression(C=spec.c, max_iter=5000)
    clf.fit(sample.train_x, [r["label"] for r in sample.train])
    labels = [str(c) for c in clf.classes_]
    if sorted(labels) != sorted(INTENT_LABELS):
        raise SystemExit(f"models.build: error: {spec.ref} labels {labels} differ from the contract's 20 labels")
    _, y = _labels(sample, labels)
    logits = clf.decision_function(sample.heldout_x)
    cal = sample.calibration
    temperature = fit_temperature(logits[cal], y[cal])
    # softmax(z / T) is a logistic regression with weights and intercepts divided by T.
    clf.coef_ = clf.coef_ / temperature
    clf.intercept_ = clf.intercept_ / temperature
    onx = to_onnx(
        clf,
        initial_types=[("embedding", FloatTensorType([None, EMBED_DIM]))],
        options={id(clf): {"zipmap": False}},
        target_opset=ONNX_OPSET,
    )
    blob = serialize(onx)
    (out_dir / f"{spec.name}-{spec.version}.onnx").write_bytes(blob)
    served = _run(blob, {"embedding": sample.heldout_x})
    parity = _check_parity(spec.ref, served, softmax(logits / temperature))
    metrics = _metrics(sample, labels, softmax(logits), served, parity)
    log(
        f"{spec.ref}: trained in {time.perf_counter() - t0:.1f}s, T={temperature}, held-out macro-F1 "
        f"{metrics['macro_f1']:.3f}, ECE {metrics['ece_uncalibrated']:.3f} -> {metrics['ece_calibrated']:.3f}"
    )
    return {
        **_manifest(spec, [EMBEDDING_INPUT], labels, blob, data_sha),
        "embedder": spec.embedder,
        "text_fallback": spec.text_fallback,
        "depends_on": [spec.embedder],
        "params": {
            "C": spec.c,
            "train_per_family": spec.train_per_family,
            "heldout_per_family": spec.heldout_per_family,
        },
        "calibration": {"method": "temperature", "temperature": temperature, "fitted_on": CALIBRATION_NOTE},
        "metrics": metrics,
    }


def build_ensemble(
    spec: EnsembleSpec, out_dir: Path, sample: IntentSample, text: dict[str, Any], head: dict[str, Any], data_sha: str
) -> dict[str, Any]:
    """Fit the TF-IDF and mix temperatures, compose one ONNX graph of both models, check it, evaluate."""
    import onnx

    if text["labels"] != head["labels"]:
        raise SystemExit(f"models.build: error: {spec.text_model} and {spec.head_model} order their labels differently")
    labels = text["labels"]
    _, y = _labels(sample, labels)
    cal, w = sample.calibration, spec.text_weight
    text_path, head_path = (out_dir / m["artifacts"]["model"]["file"] for m in (text, head))
    p_text = _run(text_path, {"text": _texts(sample)})
    p_head = _run(head_path, {"embedding": sample.heldout_x})
    t_text = fit_temperature(log_probs(p_text)[cal], y[cal])
    mix = w * softmax(log_probs(p_text) / t_text) + (1 - w) * p_head
    t_mix = fit_temperature(log_probs(mix)[cal], y[cal])
    model = compose(onnx.load(text_path), onnx.load(head_path), t_text=t_text, weight=w, t_mix=t_mix)
    blob = serialize(model)
    (out_dir / f"{spec.name}-{spec.version}.onnx").write_bytes(blob)
    served = _run(blob, {"text": _texts(sample), "embedding": sample.heldout_x})
    parity = _check_parity(spec.ref, served, softmax(log_probs(mix) / t_mix))
    # Before calibration: the plain average of both models' uncalibrated probabilities.
    raw = w * p_text + (1 - w) * softmax(log_probs(p_head) * head["calibration"]["temperature"])
    metrics = {**_metrics(sample, labels, raw, served, parity), "n_train_text": text["metrics"]["n_train"]}
    log(
        f"{spec.ref}: T_text={t_text}, T_mix={t_mix}, held-out macro-F1 {metrics['macro_f1']:.3f}, "
        f"ECE {metrics['ece_uncalibrated']:.3f} -> {metrics['ece_calibrated']:.3f}"
    )
    return {
        **_manifest(spec, [TEXT_INPUT, EMBEDDING_INPUT], labels, blob, data_sha),
        "embedder": head["embedder"],
        "text_fallback": spec.text_model,
        "depends_on": [spec.text_model, spec.head_model, head["embedder"]],
        "params": {"text_weight": w},
        "calibration": {
            "method": "temperature",
            "text_temperature": t_text,
            "mix_temperature": t_mix,
            "fitted_on": CALIBRATION_NOTE,
        },
        "metrics": metrics,
    }


def compose(text: Any, head: Any, *, t_text: float, weight: float, t_mix: float) -> Any:
    """One graph: inputs `text` and `embedding`, output the calibrated mix of both models' `probabilities`."""
    from onnx import TensorProto, compose, helper, numpy_helper

    a = compose.add_prefix_graph(text.graph, "text_", rename_inputs=False)
    b = compose.add_prefix_graph(head.graph, "head_", rename_inputs=False)

    def const(name: str, value: float) -> Any:
        return numpy_helper.from_array(np.array([value], dtype=np.float32), name)

    consts = [const("eps", 1e-12), const("inv_t_text", 1 / t_text), const("w_text", weight)]
    consts += [const("w_head", 1 - weight), const("inv_t_mix", 1 / t_mix)]
    node = helper.make_node
    nodes = [
        *a.node,
        *b.node,
        node("Max", ["text_probabilities", "eps"], ["text_p"]),
        node("Log", ["text_p"], ["text_logp"]),
        node("Mul", ["text_logp", "inv_t_text"], ["text_z"]),
        node("Softmax", ["text_z"], ["text_calibrated"], axis=1),
        node("Mul", ["text_calibrated", "w_text"], ["text_share"]),
        node("Mul", ["head_probabilities", "w_head"], ["head_share"]),
        node("Add", ["text_share", "head_share"], ["mix"]),
        node("Max", ["mix", "eps"], ["mix_p"]),
        node("Log", ["mix_p"], ["mix_logp"]),
        node("Mul", ["mix_logp", "inv_t_mix"], ["mix_z"]),
        node("Softmax", ["mix_z"], ["probabilities"], axis=1),
    ]
    n_labels = len(INTENT_LABELS)
    graph = helper.make_graph(
        nodes,
        "intent_ensemble",
        [*a.input, *b.input],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, n_labels])],
        initializer=[*a.initializer, *b.initializer, *consts],
    )
    versions: dict[str, int] = {}
    for o in (*text.opset_import, *head.opset_import):
        versions[o.domain] = max(versions.get(o.domain, 0), o.version)
    opsets = [helper.make_opsetid(d, v) for d, v in sorted(versions.items())]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="cuecard models.build")
    model.ir_version = max(text.ir_version, head.ir_version)
    return model
