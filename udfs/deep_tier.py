"""The deep tier: all-MiniLM-L6-v2 sentence embeddings ranking response templates, within a latency budget."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from udfs.model_registry import ModelError, ModelRef, Registry, ScorerRefs, default_registries, open_session, resolve
from udfs.responses import CHANNELS, KINDS, ResponseLibrary
from udfs.scores import DeepResult, FastScores, RankedResponse

INTENT_BONUS = 0.1  # cosine bonus for templates of the fast tier's intent


EMBED_MAX_TOKENS = 128
QUERY_MAX_TOKENS = 64


class Ranker(Protocol):
    """Anything that ranks templates for a turn (the deep ranker, or a test double)."""

    def rank(
        self,
        text: str,
        intent: str,
        channel: str,
        k: int = 3,
        kind: str = "reply",
        timeout_ms: float | None = None,
    ) -> list[RankedResponse]:
        """Top-k templates of `channel` (and `kind`), best first; may raise when `timeout_ms` passes."""
        ...


@dataclass
class _Slice:
    ids: list[str]
    matrix: np.ndarray
    intents: np.ndarray


class Embedder:
    """all-MiniLM-L6-v2 (int8 ONNX): L2-normalised mean-pooled sentence embeddings of 384 floats."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._output = [session.get_outputs()[0].name]

    @classmethod
    def open(cls, paths: Mapping[str, Path]) -> Embedder:
        """Open verified `model` and `tokenizer` files (see `resolve`)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(paths["tokenizer"]))
        tokenizer.no_padding()  # the shipped tokenizer.json pads every input to 128 tokens
        tokenizer.enable_truncation(EMBED_MAX_TOKENS)
        return cls(open_session(paths["model"]), tokenizer)

    def embed(self, text: str, run_options: Any = None, *, max_tokens: int | None = None) -> np.ndarray:
        """The sentence embedding of `text` (`run_options` lets a watchdog stop the run).

        `max_tokens` cuts a long text shorter than the tokenizer's own limit, keeping its final [SEP].
        """
        enc = self._tokenizer.encode(text)
        ids, types = enc.ids, enc.type_ids
        if max_tokens is not None and len(ids) > max_tokens:
            ids, types = ids[: max_tokens - 1] + ids[-1:], types[:max_tokens]
        mask = np.ones((1, len(ids)), dtype=np.int64)
        feed = {
            "input_ids": np.array([ids], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([types], dtype=np.int64),
        }
        return pool(self._session.run(self._output, feed, run_options)[0], mask)[0]


class DeepRanker:
    """Semantic ranking of response templates against their embeddings, computed at build time."""

    def __init__(self, embedder: Embedder, slices: dict[tuple[str, str], _Slice], versions: dict[str, str]):
        import onnxruntime as ort

        self.embedder = embedder
        self._slices = slices
        self.versions = versions
        self._run_options = ort.RunOptions()
        self._watchdog = _Watchdog()

    @classmethod
    def load(
        cls,
        models_dir: Path,
        library: ResponseLibrary,
        refs: ScorerRefs | None = None,
        registries: Sequence[Registry] | None = None,
    ) -> DeepRanker:
        """Verify and open the embedder and the template index; the index must match the library."""
        regs = list(registries) if registries is not None else default_registries(models_dir)
        refs = refs or ScorerRefs.from_registry(regs)
        emb_ref, idx_ref = ModelRef.parse(refs.embedder), ModelRef.parse(refs.index)
        _, emb_paths = resolve(models_dir, emb_ref, regs)
        idx_manifest, idx_paths = resolve(models_dir, idx_ref, regs)
        if idx_manifest.get("library_version") != library.library_version:
            raise ModelError(
                f"model {idx_ref} was built from library {idx_manifest.get('library_version')} but "
                f"{library.library_version} is loaded; run `python -m models.build`"
            )
        matrix = np.load(idx_paths["model"], allow_pickle=False)
        row = {tid: i for i, tid in enumerate(idx_manifest["labels"])}
        slices: dict[tuple[str, str], _Slice] = {}
        for channel in CHANNELS:
            for kind in KINDS:
                chosen = library.select(None, channel, kind)
                missing = [t.template_id for t in chosen if t.template_id not in row]
                if missing:
                    raise ModelError(f"model {idx_ref} has no embedding for {missing[0]}; run `python -m models.build`")
                slices[(channel, kind)] = _Slice(
                    ids=[t.template_id for t in chosen],
                    matrix=np.ascontiguousarray(matrix[[row[t.template_id] for t in chosen]]),
                    intents=np.array([t.intent for t in chosen]),
                )
        versions = {emb_ref.name: emb_ref.version, idx_ref.name: idx_ref.version}
        return cls(Embedder.open(emb_paths), slices, versions)

    def rank(
        self,
        text: str,
        intent: str,
        channel: str,
        k: int = 3,
        kind: str = "reply",
        timeout_ms: float | None = None,
    ) -> list[RankedResponse]:
        """Top-k templates of `channel` and `kind`; templates of the fast tier's intent get a bonus.

        With `timeout_ms`, onnxruntime is told to stop the run when that time has passed (it then raises).
        """
        sl = self._slices[(channel, kind)]
        if timeout_ms is None:
            embedding = self.embedder.embed(text)
        else:
            self._watchdog.arm(self._run_options, time.perf_counter() + timeout_ms / 1000.0)
            try:
                embedding = self.embedder.embed(text, self._run_options)
            finally:
                self._watchdog.disarm()
        return _top(sl, embedding, intent, k)

    def rank_kinds(
        self, text: str, intent: str, channel: str, kinds: Sequence[str], k: int, embedding: np.ndarray | None = None
    ) -> dict[str, list[RankedResponse]]:
        """Top-k templates of each kind for one text, embedded once (the asynchronous deep stage's call).

        The text is cut to `QUERY_MAX_TOKENS`: the embedder costs about 0.5 ms per token on this
        hardware, and the opening of a long e-mail says what it is about. `embedding`, when the fast tier
        already computed it (the same embedder and cut), is used as it is.
        """
        if embedding is None:
            embedding = self.embedder.embed(text, max_tokens=QUERY_MAX_TOKENS)
        return {kind: _top(self._slices[(channel, kind)], embedding, intent, k) for kind in kinds}


def _top(sl: _Slice, embedding: np.ndarray, intent: str, k: int) -> list[RankedResponse]:
    scores = sl.matrix @ embedding + INTENT_BONUS * (sl.intents == intent)
    k = min(k, len(sl.ids))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [RankedResponse(sl.ids[i], round(float(scores[i]), 6)) for i in top]


class _Watchdog:
    """One daemon thread that sets `terminate` on the onnxruntime run in flight once its deadline passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._options: Any = None
        threading.Thread(target=self._loop, name="cuecard-deep-tier-watchdog", daemon=True).start()

    def arm(self, options: Any, deadline: float) -> None:
        """Watch the next run made with `options` until `deadline` (perf_counter seconds)."""
        with self._cond:
            options.terminate = False
            self._options, self._deadline = options, deadline
            self._cond.notify()

    def disarm(self) -> None:
        """The run ended: never terminate it after this."""
        with self._cond:
            self._deadline = None

    def _loop(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - time.perf_counter()
                if remaining <= 0:
                    self._options.terminate = True
                    self._deadline = None
                else:
                    self._cond.wait(remaining)


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean-pool per-token outputs over the attention mask, then L2-normalise each row."""
    m = mask[..., None].astype(np.float32)
    summed = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12)


def fast_responses(
    library: ResponseLibrary, intent: str, channel: str, k: int, confidence: float
) -> tuple[RankedResponse, ...]:
    """Fast-tier template choice: the intent's replies for the channel in library order."""
    return tuple(
        RankedResponse(t.template_id, round(confidence, 6)) for t in library.select(intent, channel, "reply")[:k]
    )


@dataclass
class BudgetedRanker:
    """Runs the deep tier only when its recent p99 cost fits the channel's remaining budget.

    Failures and overruns never raise: they yield the fast-tier templates with `degraded=True` and a
    reason. After `probe_every` consecutive budget skips one call runs anyway, so a cost estimate
    inflated by a past load spike can recover.
    """

    ranker: Ranker
    library: ResponseLibrary
    budgets_ms: Mapping[str, float]
    window: int = 200
    probe_every: int = 100
    clock: Callable[[], float] = time.perf_counter
    _costs: dict[str, deque[float]] = field(default_factory=dict)
    _skips: dict[str, int] = field(default_factory=dict)

    def p99_ms(self, channel: str) -> float:
        """The p99 of the last `window` deep-tier costs on this channel (0.0 before any)."""
        costs = self._costs.get(channel)
        if not costs:
            return 0.0
        ordered = sorted(costs)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def rank(
        self, text: str, fast: FastScores, channel: str, k: int = 3, spent_ms: float = 0.0, kind: str = "reply"
    ) -> DeepResult:
        """Deep ranking within `budget - spent_ms`, else the fast-tier fallback marked degraded."""
        remaining = self.budgets_ms.get(channel, float("inf")) - spent_ms
        estimate = self.p99_ms(channel)
        skips = self._skips.get(channel, 0)
        if estimate > remaining and skips < self.probe_every:
            self._skips[channel] = skips + 1
            reason = f"budget: deep tier p99 {estimate:.1f} ms > remaining {remaining:.1f} ms on {channel}"
            return self._fallback(fast, channel, k, reason, 0.0)
        self._skips[channel] = 0
        start = self.clock()
        try:
            timeout = remaining if remaining != float("inf") else None
            ranked = self.ranker.rank(text, fast.intent, channel, k, kind, timeout_ms=timeout)
        except Exception as err:  # noqa: BLE001 - any model failure degrades, never stops the job
            elapsed = (self.clock() - start) * 1000.0
            self._record(channel, elapsed)
            if elapsed >= remaining:
                reason = (
                    f"timeout: deep tier stopped after {elapsed:.1f} ms, remaining was {remaining:.1f} ms on {channel}"
                )
            else:
                reason = f"error: {type(err).__name__}: {err}"[:300]
            return self._fallback(fast, channel, k, reason, elapsed)
        elapsed = (self.clock() - start) * 1000.0
        self._record(channel, elapsed)
        if elapsed > remaining:
            reason = f"timeout: deep tier took {elapsed:.1f} ms > remaining {remaining:.1f} ms on {channel}"
            return self._fallback(fast, channel, k, reason, elapsed)
        return DeepResult(tuple(ranked), degraded=False, reason=None, latency_ms=elapsed)

    def _record(self, channel: str, elapsed_ms: float) -> None:
        costs = self._costs.get(channel)
        if costs is None:
            costs = self._costs[channel] = deque(maxlen=self.window)
        costs.append(elapsed_ms)

    def _fallback(self, fast: FastScores, channel: str, k: int, reason: str, elapsed: float) -> DeepResult:
        responses = fast_responses(self.library, fast.intent, channel, k, fast.intent_confidence)
        return DeepResult(responses, degraded=True, reason=reason, latency_ms=elapsed)
