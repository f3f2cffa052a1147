"""Scoring of one turn with ONNX models: the fast tier (intent, sentiment, compliance, shadow) and both tiers together.

Sessions are created in `load()` (call it from an operator's `open()`), single-threaded, and are not
shared across threads. The registry is `udfs.model_registry`, the deep tier `udfs.deep_tier`.

An intent model may take the turn's MiniLM sentence embedding besides its text (intent@3, intent@4: its
manifest lists an `embedding` input and names its `embedder`). The fast tier then embeds customer turns
(other speakers are scored by the model's `text_fallback`, so agent turns cost no embedding) and returns the
vector on `TurnScores.embedding`, for the deep tier to reuse instead of embedding the text again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from udfs.deep_tier import QUERY_MAX_TOKENS, BudgetedRanker, DeepRanker, Embedder, Ranker
from udfs.model_registry import (
    ModelError,
    ModelRef,
    Registry,
    ScorerRefs,
    default_registries,
    open_session,
    resolve,
)
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores, RankedResponse, TurnScores

if TYPE_CHECKING:
    from udfs.settings import Settings

EMBEDDED_SPEAKERS = ("customer",)  # intent is read from customer turns only; agent turns are not embedded


class _Classifier:
    """One ONNX classifier: a string `text` input of shape [1, 1] and/or a float `embedding` [1, 384]."""

    def __init__(self, models_dir: Path, ref: str, registries: Sequence[Registry]) -> None:
        self.ref = ModelRef.parse(ref)
        manifest, paths = resolve(models_dir, self.ref, registries)
        self.labels: tuple[str, ...] = tuple(manifest["labels"])
        self.embedder: str | None = manifest.get("embedder")
        self.text_fallback: str | None = manifest.get("text_fallback")
        self.session = open_session(paths["model"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.needs_embedding = "embedding" in self.inputs
        if self.needs_embedding and not (self.embedder and self.text_fallback):
            raise ModelError(f"model {self.ref} takes an embedding but its manifest names no embedder or text_fallback")
        self.output_names = ["probabilities"]
        self._feed: dict[str, np.ndarray] = {}

    def bind(self, text: np.ndarray, embedding: np.ndarray) -> None:
        """Feed `text` ([1, 1] object) and `embedding` ([1, 384] float32), refilled per turn, on every run."""
        self._feed = {name: buf for name, buf in (("text", text), ("embedding", embedding)) if name in self.inputs}

    def run(self) -> np.ndarray:
        """Class probabilities for the text (and embedding) currently in the bound buffers."""
        return self.session.run(self.output_names, self._feed)[0][0]


class FastScorer:
    """Fast tier: intent, sentiment / escalation and agent compliance, plus an optional shadow intent.

    Not thread-safe: it reuses its input buffers across calls to keep the hot path allocation-free.
    """

    def __init__(
        self,
        intent: _Classifier,
        sentiment: _Classifier,
        compliance: _Classifier,
        shadow_intent: _Classifier | None,
        *,
        embedder: Embedder | None = None,
        text_intent: _Classifier | None = None,
    ) -> None:
        if (intent.needs_embedding or (shadow_intent and shadow_intent.needs_embedding)) and embedder is None:
            raise ModelError(f"intent models {intent.ref} / {shadow_intent and shadow_intent.ref} need an embedder")
        if intent.needs_embedding and text_intent is None:
            raise ModelError(f"model {intent.ref} needs its text_fallback {intent.text_fallback} for other speakers")
        self._intent = intent
        self._text_intent = text_intent or intent
        self._sentiment = sentiment
        self._compliance = compliance
        self._shadow = shadow_intent
        self._embedder = embedder
        self._buf = np.empty((1, 1), dtype=object)
        self._emb = np.zeros((1, 384), dtype=np.float32)
        for model in (intent, text_intent, sentiment, compliance, shadow_intent):
            if model is not None:
                model.bind(self._buf, self._emb)
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
        intent = _Classifier(models_dir, refs.intent, regs)
        shadow = _Classifier(models_dir, refs.shadow_intent, regs) if refs.shadow_intent else None
        wanted = {str(m.embedder) for m in (intent, shadow) if m is not None and m.needs_embedding}
        if len(wanted) > 1:
            raise ModelError(f"intent models {intent.ref} and {shadow and shadow.ref} need different embedders")
        embedder = Embedder.open(resolve(models_dir, ModelRef.parse(wanted.pop()), regs)[1]) if wanted else None
        fallback = intent.text_fallback if intent.needs_embedding else None
        return cls(
            intent,
            _Classifier(models_dir, refs.sentiment, regs),
            _Classifier(models_dir, refs.compliance, regs),
            shadow,
            embedder=embedder,
            text_intent=_Classifier(models_dir, fallback, regs) if fallback else None,
        )

    @property
    def versions(self) -> dict[str, str]:
        """Model name -> version of the champions whose outputs are shown (for the audit record)."""
        return {m.ref.name: m.ref.version for m in (self._intent, self._sentiment, self._compliance)}

    @property
    def shadow_versions(self) -> dict[str, str]:
        """Model name -> version of the challengers scored in shadow (empty when none)."""
        return {self._shadow.ref.name: self._shadow.ref.version} if self._shadow else {}

    def embeds(self, speaker: str) -> bool:
        """Whether the served intent models read an embedding of this speaker's turns."""
        return self._embedder is not None and speaker in EMBEDDED_SPEAKERS

    def embed(self, text: str) -> np.ndarray:
        """The turn's sentence embedding (384 float32, L2-normalised): the same embedder as the deep tier's."""
        if self._embedder is None:
            raise ModelError(f"intent model {self._intent.ref} takes no embedding; no embedder is loaded")
        return self._embedder.embed(text, max_tokens=QUERY_MAX_TOKENS)

    def score(self, text: str, speaker: str, channel: str, *, embedding: np.ndarray | None = None) -> FastScores:
        """Champion scores of one turn. `channel` is accepted for symmetry with the deep tier.

        Customer turns are embedded for an embedding intent model unless `embedding` (from `embed`) is given.
        """
        self._buf[0, 0] = text
        intent = self._intent if speaker in EMBEDDED_SPEAKERS else self._text_intent
        if intent.needs_embedding:
            self._emb[0] = embedding if embedding is not None else self.embed(text)
        p = intent.run()
        best = int(p.argmax())
        s = self._sentiment.run()
        risk = float(self._compliance.run()[self._risk]) if speaker == "agent" else 0.0
        return FastScores(
            intent=intent.labels[best],
            intent_confidence=float(p[best]),
            sentiment=float(s[self._pos] - s[self._neg] - s[self._esc]),
            escalation_risk=float(s[self._esc]),
            compliance_risk=risk,
        )

    def score_shadow(
        self, text: str, champion: FastScores, *, embedding: np.ndarray | None = None
    ) -> FastScores | None:
        """The challenger's view of the turn (intent replaced, other scores as the champion's), or None.

        A challenger that reads embeddings scores only turns whose `embedding` is given (customer turns).
        """
        if self._shadow is None or (self._shadow.needs_embedding and embedding is None):
            return None
        self._buf[0, 0] = text
        if embedding is not None:
            self._emb[0] = embedding
        p = self._shadow.run()
        best = int(p.argmax())
        return FastScores(
            intent=self._shadow.labels[best],
            intent_confidence=float(p[best]),
            sentiment=champion.sentiment,
            escalation_risk=champion.escalation_risk,
            compliance_risk=champion.compliance_risk,
        )


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
        *,
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
        return cls.load(
            settings.models_dir,
            settings.budgets,
            refs=refs,
            library=library,
            registries=registries,
            deep=settings.deep_tier,
        )

    def score(
        self, text: str, speaker: str, channel: str, *, k: int = 3, shadow: bool = True, rank: bool = True
    ) -> TurnScores:
        """Score one turn; never raises for model failures inside the deep tier.

        `rank=False` skips the synchronous deep-tier ranking (the job's deep tier runs in its own stage).

        `fast_ms` includes the embedding when the intent model reads one; the embedding is returned on the
        result (`embedding`) for the deep tier to reuse.
        """
        start = time.perf_counter()
        embedding = self.fast.embed(text) if self.fast.embeds(speaker) else None
        fast = self.fast.score(text, speaker, channel, embedding=embedding)
        fast_ms = (time.perf_counter() - start) * 1000.0
        shadow_scores = self.fast.score_shadow(text, fast, embedding=embedding) if shadow else None
        deep = self.deep.rank(text, fast, channel, k, spent_ms=fast_ms) if rank else None
        return TurnScores(fast, shadow_scores, deep, fast_ms, embedding)


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
