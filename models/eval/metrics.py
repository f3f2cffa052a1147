"""Scoring of the coaching core against the hand-written evaluation set (rules: models/eval/README.md).

Pure: it takes the conversations and what the system did on each turn (`Observed`, built by
`cuecard eval` from the local runner's outputs) and returns a `Report`. Nothing here trains or tunes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from models.eval.dataset import UNCLEAR, CardMatch, Conversation, Turn

HIGH_RISK = ("legal_threat", "fraud_report", "vulnerable_customer")
BREACH_ALERTS = frozenset({"forbidden_phrase", "compliance_risk", "agent_pii", "notice_contradiction"})
DISCLOSURE_RULE = "policy.required_disclosure:"


@dataclass(frozen=True, slots=True)
class Card:
    """One shown card as the evaluation sees it."""

    kind: str
    intent: str | None
    rules: tuple[str, ...] = ()
    text: str = ""

    def matches(self, pattern: CardMatch) -> bool:
        """Whether this card matches a card pattern of an expectation."""
        return (pattern.kind is None or pattern.kind == self.kind) and (
            pattern.intent is None or pattern.intent == self.intent
        )

    @property
    def breach_flag(self) -> bool:
        """A compliance card that says the agent did something wrong (disclosure reminders do not)."""
        return self.kind == "compliance_alert" and not any(r.startswith(DISCLOSURE_RULE) for r in self.rules)


@dataclass(frozen=True, slots=True)
class Observed:
    """What the system did on one turn: its reading of the intent, the cards shown and the alerts raised."""

    intent: str  # the intent label, or "unclear" below the confidence floor
    topic: str | None
    cards: tuple[Card, ...]
    alerts: tuple[str, ...]


@dataclass
class Ratio:
    """hits / total, printable."""

    hits: int = 0
    total: int = 0

    def add(self, *, ok: bool) -> None:
        """Count one case."""
        self.hits += int(ok)
        self.total += 1

    @property
    def value(self) -> float | None:
        """The share, or None with no cases."""
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.hits}/{self.total})" if self.total else "n/a (0/0)"


@dataclass
class Report:
    """Every figure `cuecard eval` prints, plus the failed expectations for a person to look at."""

    conversations: int = 0
    intent: Ratio = field(default_factory=Ratio)
    intent_by_channel: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    high_risk_recall: dict[str, Ratio] = field(default_factory=lambda: {i: Ratio() for i in HIGH_RISK})
    topic: Ratio = field(default_factory=Ratio)
    expectations: Ratio = field(default_factory=Ratio)
    breaches_flagged: Ratio = field(default_factory=Ratio)
    clean_conversations: int = 0
    false_compliance_flags: int = 0
    alert_hits: Counter[str] = field(default_factory=Counter)
    alert_expected: Counter[str] = field(default_factory=Counter)
    alert_raised: Counter[str] = field(default_factory=Counter)
    cards_per_customer_turn: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def alert_table(self) -> list[tuple[str, Ratio, Ratio]]:
        """(type, precision, recall) for every alert type expected or raised."""
        kinds = sorted(set(self.alert_expected) | set(self.alert_raised))
        return [
            (k, Ratio(self.alert_hits[k], self.alert_raised[k]), Ratio(self.alert_hits[k], self.alert_expected[k]))
            for k in kinds
        ]


def _where(conv: Conversation, turn: Turn) -> str:
    return f"{conv.conversation_id}:{turn.seq} ({turn.speaker})"


def _check(report: Report, what: str, *, ok: bool) -> None:
    report.expectations.add(ok=ok)
    if not ok:
        report.failures.append(what)


def _score_turn(report: Report, conv: Conversation, turn: Turn, seen: Observed, raised_before: set[str]) -> None:
    expect, where = turn.expect, _where(conv, turn)
    cards = ", ".join(f"{c.kind}/{c.intent}" for c in seen.cards) or "no cards"
    if turn.speaker == "customer" and expect.intent is not None:
        ok = seen.intent == expect.intent
        report.intent.add(ok=ok)
        report.intent_by_channel[conv.channel].add(ok=ok)
        if expect.intent in report.high_risk_recall:
            report.high_risk_recall[expect.intent].add(ok=ok)
        if not ok:
            report.failures.append(f"{where}: intent {seen.intent}, expected {expect.intent}")
        report.cards_per_customer_turn.append(len(seen.cards))
    if expect.topic is not None:
        report.topic.add(ok=seen.topic == expect.topic)
    for pattern in expect.cards_must_include:
        _check(
            report, f"{where}: missing card ({pattern.why}); {cards}", ok=any(c.matches(pattern) for c in seen.cards)
        )
    for pattern in expect.cards_must_not_include:
        bad = [c for c in seen.cards if c.matches(pattern)]
        _check(
            report, f"{where}: unwanted card {bad[0].kind}/{bad[0].intent} ({pattern.why})" if bad else "", ok=not bad
        )
    # Alerts the system raises once per conversation count as right on a later turn too if it already fired.
    expected = set(expect.alerts)
    allowed = expected | set(expect.alerts_optional)
    raised = set(seen.alerts)
    missing = expected - raised - raised_before
    extra = raised - allowed
    _check(report, f"{where}: alerts {sorted(raised)}, expected {sorted(expected)}", ok=not missing and not extra)
    for kind in expected:
        report.alert_expected[kind] += 1
        report.alert_hits[kind] += int(kind in raised)
    for kind in raised - (allowed - expected):
        report.alert_raised[kind] += 1
    if turn.speaker == "agent":
        flagged = bool(BREACH_ALERTS & raised) or any(c.breach_flag for c in seen.cards)
        if expect.breach is not None:
            report.breaches_flagged.add(ok=flagged)
            _check(report, f"{where}: planted {expect.breach.rule} not flagged", ok=flagged)
        else:
            report.false_compliance_flags += int(flagged)
            _check(report, f"{where}: clean turn flagged ({sorted(raised)}; {cards})", ok=not flagged)


def score(conversations: Sequence[Conversation], observed: Mapping[str, Observed]) -> Report:
    """The report for `observed` (by event id `<conversation_id>:<seq>`); a missing turn counts as no output."""
    report = Report(conversations=len(conversations))
    nothing = Observed(UNCLEAR, None, (), ())
    for conv in conversations:
        report.clean_conversations += int(conv.clean)
        raised_before: set[str] = set()
        for turn in conv.turns:
            seen = observed.get(f"{conv.conversation_id}:{turn.seq}", nothing)
            _score_turn(report, conv, turn, seen, raised_before)
            raised_before |= set(seen.alerts)
    return report


def percentile_line(values: Iterable[int]) -> str:
    """`mean m, max n, share over 3 s` of a list of counts."""
    items = list(values)
    if not items:
        return "n/a"
    over = sum(1 for v in items if v > 3)
    return f"mean {sum(items) / len(items):.2f}, max {max(items)}, turns over 3: {over}/{len(items)}"
