"""What the agent sees of a turn's candidates: at most three cards, ranked, none repeated without cause.

Candidates arrive with their status (`shown` for the best unblocked one per kind, `blocked`, or
`superseded` by a better one of the same kind). Here the would-be-shown ones are ranked by what the
agent must act on first (an urgent scam playbook before a nudge before a risk hint before a reply)
and confidence; a card already shown under the conversation's current topic is held back
(`rank.already_shown`); beyond `MAX_CARDS` the rest are `superseded` (`rank.max_cards`). Every
candidate stays in the result, so the audit keeps each one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from udfs.records import Suggestion

MAX_CARDS = 3
# Lower comes first. Rule cards are ranked by their rule, library cards by kind.
RULE_RANK = {"app_scam": 0, "volunteered_pii": 1, "high_risk": 2, "escalation": 4}
KIND_RANK = {"fraud_playbook": 0, "pii_nudge": 1, "compliance_alert": 3, "reply": 5, "knowledge": 6, "next_action": 7}
# Cards about something the agent just did or the customer just said are shown every time it happens.
ALWAYS_SHOWN = frozenset({"compliance_alert", "pii_nudge"})


def card_key(card: Suggestion) -> str:
    """What makes two cards the same for the agent: the template, or the rule that made it."""
    return card.template_id or f"rule:{card.rule_id}"


def _rank(card: Suggestion) -> tuple[int, float]:
    rule = (card.rule_id or "").split(":", 1)[0]
    return RULE_RANK.get(rule, KIND_RANK.get(card.kind, 9)), -card.confidence


def select_cards(candidates: Sequence[Suggestion], was_shown: Callable[[str], bool]) -> list[Suggestion]:
    """The candidates with final statuses: at most MAX_CARDS shown, in rank order first."""
    shown = sorted((c for c in candidates if c.status == "shown"), key=_rank)
    final: dict[str, Suggestion] = {}
    kept = 0
    for card in shown:
        if card.kind not in ALWAYS_SHOWN and was_shown(card_key(card)):
            final[card.suggestion_id] = _hold(card, "rank.already_shown")
        elif kept >= MAX_CARDS:
            final[card.suggestion_id] = _hold(card, "rank.max_cards")
        else:
            kept += 1
            final[card.suggestion_id] = card
    ordered = [final[c.suggestion_id] for c in shown]
    return ordered + [c for c in candidates if c.suggestion_id not in final]


def _hold(card: Suggestion, rule: str) -> Suggestion:
    return replace(card, status="superseded", rules_fired=(*card.rules_fired, rule))
