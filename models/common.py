"""Helpers shared by the build modules: paths, progress output, hashing, the generated datasets."""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"
BUILD_VERSION = "1"  # bump when the build logic changes what an artifact contains


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
