"""Sentence embeddings of the generated intent data for the MiniLM intent head, computed as the fast tier serves them.

The embedder costs ~10 ms per turn on one of these cores, so the head sees a fixed sample of the data (a few
variants of every phrasing family, chosen by a hash of their text) embedded by one worker process per core.
Each worker opens the served `Embedder` (single-threaded session), so the vectors are the ones served.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from udfs.deep_tier import Embedder

_worker: Embedder | None = None


def _open(paths: Mapping[str, Path]) -> None:
    global _worker  # noqa: PLW0603 - one embedder per worker process, opened once
    _worker = Embedder.open(paths)


def _embed_chunk(texts: Sequence[str]) -> np.ndarray:
    assert _worker is not None
    return np.stack([_worker.embed(t) for t in texts]).astype(np.float32)


def embed_texts(paths: Mapping[str, Path], texts: Sequence[str], workers: int | None = None) -> np.ndarray:
    """Embeddings of `texts` (rows in order), by `workers` processes (default: one per core, at most 2)."""
    workers = workers or min(2, os.cpu_count() or 1)
    if workers == 1:
        _open(paths)
        return _embed_chunk(texts)
    step = -(-len(texts) // (workers * 8))  # several chunks per worker, so a slow one does not hold the rest
    chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
    # spawn, not fork: a forked onnxruntime/tokenizers state is not safe to reuse.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_open, initargs=(dict(paths),)) as pool:
        return np.concatenate(list(pool.map(_embed_chunk, chunks)))


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample(records: Sequence[dict[str, Any]], split: str, per_family: int) -> list[dict[str, Any]]:
    """`per_family` variants of every family of `split` (the lowest sha256 of their text), in data order."""
    by_family: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if r["split"] == split:
            by_family[r["family"]].append(i)
    chosen = {
        i for idx in by_family.values() for i in sorted(idx, key=lambda i: _rank(records[i]["text"]))[:per_family]
    }
    return [records[i] for i in sorted(chosen)]


def is_calibration(family: str) -> bool:
    """Half of the held-out families fit the temperatures; the other half measures calibration (by a hash)."""
    return hashlib.sha256(family.encode("utf-8")).digest()[0] % 2 == 0


@dataclass(frozen=True)
class IntentSample:
    """The embedded sample: training turns, held-out turns (with their calibration half) and the vectors."""

    train: list[dict[str, Any]]
    heldout: list[dict[str, Any]]
    train_x: np.ndarray
    heldout_x: np.ndarray

    @property
    def calibration(self) -> np.ndarray:
        """Mask of held-out rows in the calibration half."""
        return np.array([is_calibration(r["family"]) for r in self.heldout])


def embed_sample(
    paths: Mapping[str, Path], records: Sequence[dict[str, Any]], train_per_family: int, heldout_per_family: int
) -> IntentSample:
    """Sample the intent data and embed it (training and held-out turns in one pass)."""
    train = sample(records, "train", train_per_family)
    heldout = sample(records, "heldout", heldout_per_family)
    x = embed_texts(paths, [r["text"] for r in train + heldout])
    return IntentSample(train, heldout, x[: len(train)], x[len(train) :])
