"""Scoring of one turn with ONNX models: the fast tier (intent, sentiment, compliance, shadow) and both tiers together.

Sessions are created in `load()` (call it from an operator's `open()`), single-threaded, and are not
shared across threads. The registry is `udfs.model_registry`, the deep tier `udfs.deep_tier`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from udfs.deep_tier import BudgetedRanker, DeepRanker, Ranker
from udfs.model_registry import ModelRef, Registry, ScorerRefs, default_registries, open_session, resolve
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores, RankedResponse, TurnScores

if TYPE_CHECKING:
    from udfs.settings import Settings


class _Classifier:
    """One skl2onnx text classifier: a string input of shape [1, 1] and a probabilities output."""

    def __init__(self, models_dir: Path, ref: str, registries: Sequence[Registry]) -> None:
        self.ref = ModelRef.parse(ref)
        manifest, paths = resolve(models_dir, self.ref, registries)
        self.labels: tuple[str, ...] = tuple(manifest["labels"])
        self.session = open_session(paths["model"])
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

    def score(self, text: str, speaker: str, channel: str, *, k: int = 3, shadow: bool = True) -> TurnScores:
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
