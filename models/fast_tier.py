"""Fast tier: TF-IDF + logistic regression (scikit-learn), converted to ONNX with skl2onnx."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.common import load_dataset, log, sha256_bytes
from udfs.model_registry import session_options
from udfs.scores import INTENT_LABELS

WORD_TOKENS = r"\b\w\w+\b"  # scikit-learn's default token pattern, given to the ONNX tokenizer verbatim
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class ClassifierSpec:
    """One fast-tier text classifier: which data, which features, which regularisation."""

    name: str
    version: str
    stage: str
    dataset: str
    task: str
    word_ngrams: tuple[int, int] | None
    char_ngrams: tuple[int, int] | None
    c: float
    description: str

    @property
    def ref(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"

    @property
    def file(self) -> str:
        """Artifact file name in the cache folder."""
        return f"{self.name}-{self.version}.onnx"


CLASSIFIERS = (
    ClassifierSpec(
        "intent",
        "1",
        "champion",  # also inside the ensemble intent@4, served with CUECARD_INTENT_MODEL=intent@4
        "intent",
        "text-classification/intent",
        (1, 2),
        (2, 4),
        20.0,
        "word 1-2-grams + char 2-4-grams TF-IDF, logistic regression",
    ),
    ClassifierSpec(
        "intent",
        "2",
        "challenger",
        "intent",
        "text-classification/intent",
        (1, 2),
        None,
        20.0,
        "word 1-2-grams TF-IDF only, logistic regression (cheaper; shadow)",
    ),
    ClassifierSpec(
        "sentiment",
        "1",
        "champion",
        "sentiment",
        "text-classification/sentiment-escalation",
        (1, 2),
        (2, 4),
        10.0,
        "word + char TF-IDF, logistic regression over negative/neutral/positive/escalating",
    ),
    ClassifierSpec(
        "compliance",
        "1",
        "champion",
        "compliance",
        "text-classification/agent-compliance",
        (1, 2),
        (2, 4),
        10.0,
        "word + char TF-IDF, logistic regression over ok/risk (agent turns)",
    ),
)


def make_pipeline(spec: ClassifierSpec) -> tuple[Any, dict[int, dict[str, Any]]]:
    """The scikit-learn pipeline and its skl2onnx options (ONNX-exact tokenisation, no ZipMap)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    options: dict[int, dict[str, Any]] = {}
    parts = []
    if spec.word_ngrams:
        # No sublinear_tf: onnxruntime's TfIdfVectorizer has no log scaling, and parity matters.
        # min_df=2 drops one-off bigrams: a third of the intent model's latency for ~0.001 macro-F1.
        word = TfidfVectorizer(ngram_range=spec.word_ngrams, binary=True, min_df=2, dtype=np.float32)
        options[id(word)] = {"tokenexp": WORD_TOKENS, "locale": "C.UTF-8"}
        parts.append(("word", word))
    if spec.char_ngrams:
        char = TfidfVectorizer(analyzer="char", ngram_range=spec.char_ngrams, min_df=2, dtype=np.float32)
        options[id(char)] = {"locale": "C.UTF-8"}
        parts.append(("char", char))
    features = parts[0][1] if len(parts) == 1 else FeatureUnion(parts)
    clf = LogisticRegression(C=spec.c, max_iter=5000)
    options[id(clf)] = {"zipmap": False}
    return Pipeline([("features", features), ("clf", clf)]), options


def serialize(onx: Any) -> bytes:
    """The model's bytes, its opsets sorted: skl2onnx collects them in a set, whose order follows PYTHONHASHSEED."""
    opsets = sorted(onx.opset_import, key=lambda o: o.domain)
    del onx.opset_import[:]
    onx.opset_import.extend(opsets)
    return bytes(onx.SerializeToString())


def per_label_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Precision / recall / F1 / support per label, macro-F1 and accuracy."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(labels), zero_division=0)
    return {
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=list(labels), average="macro")), 4),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "per_label": {
            lab: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
    }


def build_classifier(spec: ClassifierSpec, out_dir: Path) -> dict[str, Any]:
    """Train on the train split, convert to ONNX, check ONNX/sklearn parity, evaluate on held-out."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType

    records, data_sha = load_dataset(spec.dataset)
    train = [r for r in records if r["split"] == "train"]
    held = [r for r in records if r["split"] == "heldout"]
    pipe, options = make_pipeline(spec)
    t0 = time.perf_counter()
    pipe.fit([r["text"] for r in train], [r["label"] for r in train])
    labels = [str(c) for c in pipe.classes_]
    if spec.dataset == "intent" and sorted(labels) != sorted(INTENT_LABELS):
        raise SystemExit(f"models.build: error: intent labels {labels} differ from the contract's 20 labels")
    with warnings.catch_warnings():
        # skl2onnx warns that char analyzers "may not work"; the parity check below proves they do.
        warnings.filterwarnings("ignore", message="The conversion of CountVectorizer", category=UserWarning)
        onx = to_onnx(
            pipe, initial_types=[("text", StringTensorType([None, 1]))], options=options, target_opset=ONNX_OPSET
        )
    blob = serialize(onx)
    path = out_dir / spec.file
    path.write_bytes(blob)
    fit_s = time.perf_counter() - t0

    sess = ort.InferenceSession(blob, sess_options=session_options(), providers=["CPUExecutionProvider"])
    texts = [r["text"] for r in held]
    onnx_p = sess.run(["probabilities"], {"text": np.array(texts, dtype=object).reshape(-1, 1)})[0]
    parity = float(np.abs(onnx_p - pipe.predict_proba(texts)).max())
    if parity > 1e-4:
        raise SystemExit(f"models.build: error: {spec.ref} ONNX differs from scikit-learn by {parity:.2g}")
    predicted = [labels[i] for i in onnx_p.argmax(axis=1)]
    metrics = per_label_metrics([r["label"] for r in held], predicted, labels)
    metrics.update(
        n_train=len(train),
        n_heldout=len(held),
        heldout_families=len({r["family"] for r in held}),
        onnx_max_abs_diff=round(parity, 8),
    )
    log(f"{spec.ref}: trained in {fit_s:.1f}s, held-out macro-F1 {metrics['macro_f1']:.3f}")
    return {
        "name": spec.name,
        "version": spec.version,
        "stage": spec.stage,
        "task": spec.task,
        "description": spec.description,
        "inputs": [{"name": "text", "type": "string", "shape": [None, 1]}],
        "outputs": [
            {"name": "probabilities", "type": "float32", "shape": [None, len(labels)]},
            {"name": "label", "type": "string", "shape": [None]},
        ],
        "labels": labels,
        "artifacts": {"model": {"file": spec.file, "sha256": sha256_bytes(blob)}},
        "training_data": {"file": f"models/data/{spec.dataset}.jsonl.gz", "sha256": data_sha},
        "params": {"word_ngrams": spec.word_ngrams, "char_ngrams": spec.char_ngrams, "C": spec.c},
        "metrics": metrics,
    }
