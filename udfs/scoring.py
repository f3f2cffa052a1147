"""Scoring of one turn with ONNX models: fast tier (intent, sentiment, compliance) and a budgeted deep tier.

Models are named `name@version` and resolved through a registry manifest; every artifact's sha256 is
checked before a session is created, so a corrupted or swapped file never loads. Sessions are created
in `load()` (call it from an operator's `open()`), single-threaded, and are not shared across threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from udfs.responses import CHANNELS, KINDS, ResponseLibrary

if TYPE_CHECKING:
    from udfs.settings import Settings

# The contract's intent labels (contracts.md), in contract order.
INTENT_LABELS = (
    "billing_dispute",
    "refund_request",
    "cancel_service",
    "card_lost_stolen",
    "fraud_report",
    "account_access",
    "update_details",
    "payment_arrangement",
    "order_status",
    "return_exchange",
    "technical_issue",
    "plan_change",
    "complaint",
    "speak_to_human",
    "greeting",
    "closing",
    "pricing_inquiry",
    "legal_threat",
    "vulnerable_customer",
    "other",
)
COMMITTED_REGISTRY = Path(__file__).resolve().parents[1] / "models" / "registry.json"
MANIFEST_NAME = "registry.json"
INTENT_BONUS = 0.1  # cosine bonus for templates of the fast tier's intent
EMBED_MAX_TOKENS = 128


class ModelError(RuntimeError):
    """A model could not be resolved or loaded; the message is one line naming the file and the fix."""


@dataclass(frozen=True, slots=True)
class FastScores:
    """Fast-tier scores of one turn (see contracts.md)."""

    intent: str
    intent_confidence: float
    sentiment: float  # -1 negative .. +1 positive
    escalation_risk: float  # 0..1
    compliance_risk: float  # 0..1, only meaningful for agent turns, else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The scores as the audit record's `scores` object."""
        return {
            "intent": self.intent,
            "intent_confidence": round(self.intent_confidence, 6),
            "sentiment": round(self.sentiment, 6),
            "escalation_risk": round(self.escalation_risk, 6),
            "compliance_risk": round(self.compliance_risk, 6),
        }


@dataclass(frozen=True, slots=True)
class RankedResponse:
    """A response template and how well it fits the turn (cosine similarity, plus the intent bonus)."""

    template_id: str
    score: float


@dataclass(frozen=True, slots=True)
class DeepResult:
    """Deep-tier outcome: ranked templates, or the fast-tier fallback with `degraded=True` and why."""

    responses: tuple[RankedResponse, ...]
    degraded: bool
    reason: str | None
    latency_ms: float


# --- registry -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model reference `name@version`."""

    name: str
    version: str

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        """Parse `name@version`; raises ModelError on anything else."""
        name, sep, version = ref.partition("@")
        if not sep or not name or not version:
            raise ModelError(f"model reference {ref!r} is not name@version (e.g. intent@1)")
        return cls(name, version)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Registry:
    """Model manifests keyed by `name@version`, read from a registry JSON file."""

    path: Path
    entries: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Registry:
        """Read a registry file; a missing file is an empty registry."""
        if not path.exists():
            return cls(path, {})
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, {f"{m['name']}@{m['version']}": m for m in raw["models"]})

    def entry(self, ref: ModelRef) -> dict[str, Any] | None:
        """The manifest of `ref`, or None."""
        return self.entries.get(str(ref))

    def champion(self, name: str) -> ModelRef | None:
        """The champion version of `name`, if one is registered."""
        return self._stage(name, "champion")

    def challenger(self, name: str) -> ModelRef | None:
        """The challenger version of `name`, if one is registered."""
        return self._stage(name, "challenger")

    def _stage(self, name: str, stage: str) -> ModelRef | None:
        for m in self.entries.values():
            if m["name"] == name and m.get("stage") == stage:
                return ModelRef(m["name"], str(m["version"]))
        return None


def resolve(models_dir: Path, ref: ModelRef, registries: Sequence[Registry]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Find `ref` in the first registry that has it and verify every artifact's sha256.

    Returns the manifest and role -> verified file path. Raises ModelError with one line naming the
    file and both hashes when an artifact does not match (see `default_registries` for which hashes).
    """
    for registry in registries:
        manifest = registry.entry(ref)
        if manifest is not None:
            break
    else:
        where = ", ".join(str(r.path) for r in registries)
        raise ModelError(f"model {ref} is not in the registry ({where}); run `python -m models.build`")
    paths: dict[str, Path] = {}
    for role, art in manifest["artifacts"].items():
        path = models_dir / art["file"]
        if not path.exists():
            raise ModelError(f"model {ref}: artifact {path} is missing; run `python -m models.build`")
        actual = sha256_file(path)
        if actual != art["sha256"]:
            raise ModelError(
                f"model {ref}: artifact {path} has sha256 {actual} but the registry {registry.path} "
                f"expects {art['sha256']}; refusing to load (rebuild with `python -m models.build`)"
            )
        paths[role] = path
    return manifest, paths


def default_registries(models_dir: Path) -> list[Registry]:
    """The manifest the build wrote into `models_dir`: the hashes of the artifacts that are there.

    The build writes it only after checking that every artifact reproduces its pin in `COMMITTED_REGISTRY`
    (byte for byte, or within the tolerances of `models/reproduce.py` on another CPU/BLAS), so loading
    against it still refuses a corrupted or swapped file.
    """
    return [Registry.load(models_dir / MANIFEST_NAME)]


def session_options() -> Any:
    """Single-threaded onnxruntime options: one operator must not fight the others for the 2 cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def _session(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), sess_options=session_options(), providers=["CPUExecutionProvider"])


# --- fast tier ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorerRefs:
    """Which model versions to serve; `shadow_intent` (a challenger) runs beside the champion, unseen."""

    intent: str = "intent@1"
    sentiment: str = "sentiment@1"
    compliance: str = "compliance@1"
    embedder: str = "embedder@1"
    index: str = "response_index@2026.11.0"
    shadow_intent: str | None = "intent@2"

    @classmethod
    def from_registry(cls, registries: Sequence[Registry]) -> ScorerRefs:
        """Champions of every task, and the intent challenger (if any) as shadow."""

        def pick(name: str, stage: str) -> str | None:
            for registry in registries:
                ref = registry.champion(name) if stage == "champion" else registry.challenger(name)
                if ref is not None:
                    return str(ref)
            return None

        refs = {}
        for name in ("intent", "sentiment", "compliance", "embedder", "response_index"):
            found = pick(name, "champion")
            if found is None:
                raise ModelError(f"no champion model named {name!r} is registered; run `python -m models.build`")
            refs["index" if name == "response_index" else name] = found
        return cls(**refs, shadow_intent=pick("intent", "challenger"))


class _Classifier:
    """One skl2onnx text classifier: a string input of shape [1, 1] and a probabilities output."""

    def __init__(self, models_dir: Path, ref: str, registries: Sequence[Registry]) -> None:
        self.ref = ModelRef.parse(ref)
        manifest, paths = resolve(models_dir, self.ref, registries)
        self.labels: tuple[str, ...] = tuple(manifest["labels"])
        self.session = _session(paths["model"])
        self.output_names = ["probabilities"]
        self._feed: dict[str, np.ndarray] = {}

    def bind(self, buf: np.ndarray) -> None:
        """Feed `buf` (a [1, 1] object array the caller refills per turn) on every run."""
        self._feed = {self.session.get_inputs()[0].name: buf}

    def run(self) -> np.ndarray:
        """Class probabilities for the text currently in the bound buffer."""
        return self.session.run(self.output_names, self._feed)[0][0]


class FastScorer:
    """Fast tier: intent, sentiment / escalation and agent compliance, plus an optional shadow intent.

    Not thread-safe: it reuses one input buffer across calls to keep the hot path allocation-free.
    """

    def __init__(
        self,
        intent: _Classifier,
        sentiment: _Classifier,
        compliance: _Classifier,
        shadow_intent: _Classifier | None,
    ) -> None:
        self._intent = intent
        self._sentiment = sentiment
        self._compliance = compliance
        self._shadow = shadow_intent
        self._buf = np.empty((1, 1), dtype=object)
        for model in (intent, sentiment, compliance, shadow_intent):
            if model is not None:
                model.bind(self._buf)
        s = sentiment.labels
        self._pos, self._neg, self._esc = s.index("positive"), s.index("negative"), s.index("escalating")
        self._risk = compliance.labels.index("risk")

    @classmethod
    def load(
        cls,
        models_dir: Path,
        refs: ScorerRefs | None = None,
        registries: Sequence[Registry] | None = None,
    ) -> FastScorer:
        """Verify and open the sessions; `refs` default to the registry's champions and challenger."""
        regs = list(registries) if registries is not None else default_registries(models_dir)
        refs = refs or ScorerRefs.from_registry(regs)
        shadow = _Classifier(models_dir, refs.shadow_intent, regs) if refs.shadow_intent else None
        return cls(
            _Classifier(models_dir, refs.intent, regs),
            _Classifier(models_dir, refs.sentiment, regs),
            _Classifier(models_dir, refs.compliance, regs),
            shadow,
        )

    @property
    def versions(self) -> dict[str, str]:
        """Model name -> version of the champions whose outputs are shown (for the audit record)."""
        return {m.ref.name: m.ref.version for m in (self._intent, self._sentiment, self._compliance)}

    @property
    def shadow_versions(self) -> dict[str, str]:
        """Model name -> version of the challengers scored in shadow (empty when none)."""
        return {self._shadow.ref.name: self._shadow.ref.version} if self._shadow else {}

    def score(self, text: str, speaker: str, channel: str) -> FastScores:
        """Champion scores of one turn. `channel` is accepted for symmetry with the deep tier."""
        self._buf[0, 0] = text
        p = self._intent.run()
        best = int(p.argmax())
        s = self._sentiment.run()
        risk = float(self._compliance.run()[self._risk]) if speaker == "agent" else 0.0
        return FastScores(
            intent=self._intent.labels[best],
            intent_confidence=float(p[best]),
            sentiment=float(s[self._pos] - s[self._neg] - s[self._esc]),
            escalation_risk=float(s[self._esc]),
            compliance_risk=risk,
        )

    def score_shadow(self, text: str, champion: FastScores) -> FastScores | None:
        """The challenger's view of the turn (intent replaced, other scores as the champion's), or None."""
        if self._shadow is None:
            return None
        self._buf[0, 0] = text
        p = self._shadow.run()
        best = int(p.argmax())
        return FastScores(
            intent=self._shadow.labels[best],
            intent_confidence=float(p[best]),
            sentiment=champion.sentiment,
            escalation_risk=champion.escalation_risk,
            compliance_risk=champion.compliance_risk,
        )


# --- deep tier ------------------------------------------------------------------------------------


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
        return cls(_session(paths["model"]), tokenizer)

    def embed(self, text: str, run_options: Any = None) -> np.ndarray:
        """The sentence embedding of `text` (`run_options` lets a watchdog stop the run)."""
        enc = self._tokenizer.encode(text)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feed = {
            "input_ids": np.array([enc.ids], dtype=np.int64),
            "attention_mask": mask,
            "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
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
        return DeepResult(tuple(ranked), False, None, elapsed)

    def _record(self, channel: str, elapsed_ms: float) -> None:
        costs = self._costs.get(channel)
        if costs is None:
            costs = self._costs[channel] = deque(maxlen=self.window)
        costs.append(elapsed_ms)

    def _fallback(self, fast: FastScores, channel: str, k: int, reason: str, elapsed: float) -> DeepResult:
        responses = fast_responses(self.library, fast.intent, channel, k, fast.intent_confidence)
        return DeepResult(responses, True, reason, elapsed)


# --- both tiers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnScores:
    """Everything scored for one turn: champion scores (shown), shadow scores (audited only), ranking."""

    fast: FastScores
    shadow: FastScores | None
    deep: DeepResult
    fast_ms: float


class TurnScorer:
    """The one scoring path of the job and of `cuecard score`: fast tier, shadow, budgeted deep tier."""

    def __init__(self, fast: FastScorer, deep: BudgetedRanker, model_versions: dict[str, str]) -> None:
        self.fast = fast
        self.deep = deep
        self.model_versions = model_versions

    @classmethod
    def load(
        cls,
        models_dir: Path,
        budgets_ms: Mapping[str, float],
        refs: ScorerRefs | None = None,
        library: ResponseLibrary | None = None,
        registries: Sequence[Registry] | None = None,
        deep: bool = True,
    ) -> TurnScorer:
        """Open every model; with `deep=False` the deep tier is replaced by a ranker that always fails."""
        regs = list(registries) if registries is not None else default_registries(models_dir)
        refs = refs or ScorerRefs.from_registry(regs)
        library = library or ResponseLibrary.load()
        fast = FastScorer.load(models_dir, refs, regs)
        versions = dict(fast.versions)
        ranker: Ranker
        if deep:
            deep_ranker = DeepRanker.load(models_dir, library, refs, regs)
            versions.update(deep_ranker.versions)
            ranker = deep_ranker
        else:
            ranker = _DisabledRanker()
        return cls(fast, BudgetedRanker(ranker, library, budgets_ms), versions)

    @classmethod
    def open(cls, settings: Settings, library: ResponseLibrary) -> TurnScorer:
        """The scorer the settings ask for: the registry's champions, an intent override, deep tier on or off."""
        registries = default_registries(settings.models_dir)
        refs = ScorerRefs.from_registry(registries)
        if settings.intent_model:
            refs = replace(refs, intent=settings.intent_model)
        return cls.load(settings.models_dir, settings.budgets, refs, library, registries, deep=settings.deep_tier)

    def score(self, text: str, speaker: str, channel: str, k: int = 3, shadow: bool = True) -> TurnScores:
        """Score one turn; never raises for model failures inside the deep tier."""
        start = time.perf_counter()
        fast = self.fast.score(text, speaker, channel)
        fast_ms = (time.perf_counter() - start) * 1000.0
        shadow_scores = self.fast.score_shadow(text, fast) if shadow else None
        deep = self.deep.rank(text, fast, channel, k, spent_ms=fast_ms)
        return TurnScores(fast, shadow_scores, deep, fast_ms)


class _DisabledRanker:
    def rank(
        self,
        text: str,
        intent: str,
        channel: str,
        k: int = 3,
        kind: str = "reply",
        timeout_ms: float | None = None,
    ) -> list[RankedResponse]:
        raise RuntimeError("deep tier disabled")
