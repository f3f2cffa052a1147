"""What the agent sees of a turn's candidates: at most three cards, ranked.

Candidates arrive with their status (`shown` for the best unblocked one per kind that the agent has
not seen under this topic, `blocked`, or `superseded`); rule cards are raised once per situation by
the coaching rules. Here the would-be-shown ones are ranked by what the agent must act on first (an
urgent scam playbook before a nudge before a risk hint before a reply) and confidence; beyond
`MAX_CARDS` the rest are `superseded` (`rank.max_cards`). Every candidate stays in the result, so the
audit keeps each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from udfs.records import Suggestion

MAX_CARDS = 3
# Lower comes first. Rule cards are ranked by their rule, library cards by kind.
RULE_RANK = {"app_scam": 0, "volunteered_pii": 1, "high_risk": 2, "escalation": 4}
KIND_RANK = {"fraud_playbook": 0, "pii_nudge": 1, "compliance_alert": 3, "reply": 5, "knowledge": 6, "next_action": 7}


def _rank(card: Suggestion) -> tuple[int, float]:
    rule = (card.rule_id or "").split(":", 1)[0]
    return RULE_RANK.get(rule, KIND_RANK.get(card.kind, 9)), -card.confidence


def select_cards(candidates: Sequence[Suggestion]) -> list[Suggestion]:
    """The candidates with final statuses: at most MAX_CARDS shown, in rank order first."""
    shown = sorted((c for c in candidates if c.status == "shown"), key=_rank)
    held = [replace(c, status="superseded", rules_fired=(*c.rules_fired, "rank.max_cards")) for c in shown[MAX_CARDS:]]
    return shown[:MAX_CARDS] + held + [c for c in candidates if c.status != "shown"]
