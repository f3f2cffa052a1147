"""The typed results of scoring a turn, and the contract's intent labels: what every tier returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

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


@dataclass(frozen=True, slots=True)
class TurnScores:
    """Everything scored for one turn: champion scores (shown), shadow scores (audited only), ranking.

    `embedding` is the turn's MiniLM sentence embedding (384 float32, L2-normalised, the deep tier's embedder)
    when the fast tier's intent model read one (customer turns), so the deep tier need not embed it again.
    """

    fast: FastScores
    shadow: FastScores | None
    deep: DeepResult | None  # None when the caller did not ask for a synchronous ranking
    fast_ms: float
    embedding: np.ndarray | None = None
