"""The coaching core: the three per-turn stages and the two entry points every runner calls.

    ingest(raw) -> Envelope | Rejected       validate the schema, mask PII before anything keeps it
    join(turn, reference) -> JoinedTurn      customer context, agent state, active policy, as of now
    coach(joined, state) -> Outcome          score, coach under the policy, build every output record

`on_keyed` (turns and feedback, keyed by conversation) and `on_reference` (customer context, agent
state and policies, broadcast) drive the stages over injected state: the Flink operator passes its
keyed and broadcast state, the local runner (`udfs.runner`) passes dicts. Neither runner holds any
logic of its own, so what the tests and `cuecard score` see is what the job does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from udfs import validation
from udfs.clock import utc_iso
from udfs.coaching import coach_turn
from udfs.conversation import ConversationState
from udfs.deep_stage import DeepRequest, KindRanker, deep_request, deepen
from udfs.deep_tier import DeepRanker
from udfs.envelopes import (
    Envelope,
    JoinedTurn,
    Outcome,
    RawRecord,
    RecordKind,
    ReferenceEntry,
    Rejected,
    Source,
    sha256_hex,
)
from udfs.outputs import audited, audited_feedback, audited_turn, published, published_alert, remembered
from udfs.pii import mask_pii
from udfs.records import Suggestion, newer_policy
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores, TurnScores
from udfs.scoring import TurnScorer
from udfs.settings import Settings
from udfs.topics import AGENT_STATE, CONVERSATION_EVENTS, CUSTOMER_CONTEXT, FEEDBACK, POLICIES
from udfs.turn_work import JoinedContext
from udfs.validation import decode_and_validate, make_dlq_record

# Names have no pattern the masker can rely on, so they are replaced whole at ingest.
NAME_FIELDS = {CUSTOMER_CONTEXT.name: ("name", "display_name")}
# Free-text fields that may carry PII, per input topic; everything else is ids, enums and numbers.
TEXT_FIELDS = {
    CONVERSATION_EVENTS.name: ("text",),
    CUSTOMER_CONTEXT.name: ("notes", "address", "email", "phone"),
    AGENT_STATE.name: ("notes",),
    FEEDBACK.name: ("edited_text", "comment"),
}
# What each input topic's records are, and the field they are keyed or stored by.
KINDS: dict[str, tuple[RecordKind, str]] = {
    CONVERSATION_EVENTS.name: ("turn", "conversation_id"),
    FEEDBACK.name: ("feedback", "conversation_id"),
    CUSTOMER_CONTEXT.name: ("customer", "customer_id"),
    AGENT_STATE.name: ("agent", "agent_id"),
    POLICIES.name: ("policy", "policy_id"),
}
# When the fast tier itself fails the turn is still coached (alerts, disclosures) on neutral scores.
NEUTRAL_SCORES = FastScores("other", 0.0, 0.0, 0.0, 0.0)
POLICY_KEY = "policy"
DEEP_COST_WEIGHT = 0.1


class ValueLike(Protocol):
    """One value of keyed state (Flink's ValueState, or the local runner's cell)."""

    def value(self) -> Any:
        """The current value, or None."""

    def update(self, value: Any) -> None:
        """Replace the value."""


class MapLike(Protocol):
    """A map of keyed or broadcast state (Flink's MapState / BroadcastState, or a dict wrapper)."""

    def get(self, key: str) -> Any:
        """The value under `key`, or None."""

    def put(self, key: str, value: Any) -> None:
        """Store `value` under `key`."""


class ReferenceView(Protocol):
    """Read-only broadcast state, as the keyed side sees it."""

    def get(self, key: str) -> Any:
        """The value under `key`, or None."""


@dataclass(frozen=True)
class ConversationStore:
    """The keyed state of one conversation: its coaching state and the suggestions it was shown."""

    conversation: ValueLike
    shown: MapLike


@dataclass(frozen=True)
class Coached:
    """The coach stage's result: the outputs, the conversation's new state and the shown index."""

    outcome: Outcome
    state: ConversationState
    shown: Mapping[str, Mapping[str, Any]]


def mask_fields(
    topic: str, record: Mapping[str, Any], *, expected_pii: str | None = None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Mask every free-text field of a validated record; returns the masked copy and the PII types found.

    Nested `metadata` string values are masked too, since producers put arbitrary text there.
    `expected_pii` is what the agent just asked for: a turn's text is masked for it even where the
    pattern alone is weak (a bare "09/10/58" after "can you confirm your date of birth?").
    """
    masked = dict(record)
    found: set[str] = set()
    for name in NAME_FIELDS.get(topic, ()):
        if masked.get(name):
            masked[name] = "[NAME]"
            found.add("NAME")
    for name in TEXT_FIELDS.get(topic, ()):
        value = masked.get(name)
        if isinstance(value, str) and value:
            result = mask_pii(value, expected=expected_pii)
            masked[name] = result.masked_text
            found.update(result.pii_types)
    metadata = masked.get("metadata")
    if isinstance(metadata, dict):
        clean = {}
        for key, value in metadata.items():
            if isinstance(value, str):
                result = mask_pii(value)
                clean[key] = result.masked_text
                found.update(result.pii_types)
            else:
                clean[key] = value
        masked["metadata"] = clean
    return masked, tuple(sorted(found))


def ingest(raw: RawRecord, *, max_bytes: int, expected_pii: str | None = None) -> Envelope | Rejected:
    """Validate one raw record and mask its text; never raises (a failure becomes a DLQ record).

    `expected_pii`: the PII type the conversation's agent just asked for (see `mask_fields`).
    """
    received = time.time()
    result = decode_and_validate(
        raw.value, raw.topic, raw.partition, raw.offset, raw.timestamp_ms, max_bytes, key=raw.key
    )
    if isinstance(result, validation.Rejected):
        return Rejected(raw.key.decode("utf-8", "replace") if raw.key is not None else None, result.dlq_record)
    kind, key_field = KINDS[raw.topic]
    record, pii_types = mask_fields(raw.topic, result.record, expected_pii=expected_pii)
    return Envelope(
        kind=kind,
        key=str(record[key_field]),
        record=record,
        pii_types=pii_types,
        input_sha256=sha256_hex(raw.value),
        source=Source(raw.topic, raw.partition, raw.offset),
        produced_at=raw.timestamp_ms / 1000.0,
        received_at=received,
        validated_at=time.time(),
        ingest_notes=result.notes
        + ((f"unknown fields dropped: {', '.join(result.unknown_fields)}",) if result.unknown_fields else ()),
    )


def join(turn: Envelope, reference: ReferenceView) -> JoinedTurn:
    """The turn with the latest customer context, agent state and policy in reference data."""
    record = turn.record
    entries: dict[str, ReferenceEntry | None] = {
        "customer": reference.get(f"customer:{record['customer_id']}"),
        "agent": reference.get(f"agent:{record['agent_id']}"),
        "policy": reference.get(POLICY_KEY),
    }
    hashes = {"turn": turn.input_sha256}
    hashes.update((name, entry.sha256) for name, entry in entries.items() if entry is not None)

    def record_of(name: str) -> Mapping[str, Any] | None:
        entry = entries[name]
        return entry.record if entry is not None else None

    return JoinedTurn(
        turn=turn,
        customer=record_of("customer"),
        agent=record_of("agent"),
        policy=record_of("policy"),
        input_hashes=hashes,
        joined_at=time.time(),
    )


def _ms(start: float, end: float) -> float:
    return round(max(0.0, end - start) * 1000.0, 3)


class CoachingCore:
    """The models and the response library, opened once; the stages that need them are its methods.

    With `deep_tier` on, `coach` leaves a request for the deep tier in `Outcome.deep` instead of calling
    it, and `on_deep` answers it later with the `deep` ranker (udfs.deep_stage). In the job the two run
    in different operators, so each opens only what it calls.
    """

    def __init__(
        self,
        scorer: TurnScorer,
        library: ResponseLibrary,
        *,
        max_event_bytes: int,
        deep_tier: bool = False,
        deep: KindRanker | None = None,
        deep_deadline_ms: float = 500.0,
    ) -> None:
        self.scorer = scorer
        self.library = library
        self.max_event_bytes = max_event_bytes
        self.deep_tier = deep_tier
        self.deep = deep
        self.deep_deadline_ms = deep_deadline_ms
        self._deep_ms = 0.0

    @classmethod
    def load(cls, settings: Settings, *, open_deep: bool = True) -> CoachingCore:
        """Open the models (hash-checked against the registry) and the response library.

        `open_deep=False` leaves the deep ranker closed (the job's `coach` operator only asks for it).
        """
        library = ResponseLibrary.load()
        scorer = TurnScorer.open(settings.with_overrides(deep_tier=False), library)  # ranking is the deep stage's
        ranker = DeepRanker.load(settings.models_dir, library) if settings.deep_tier and open_deep else None
        return cls(
            scorer,
            library,
            max_event_bytes=settings.max_event_bytes,
            deep_tier=settings.deep_tier,
            deep=ranker,
            deep_deadline_ms=settings.deep_deadline_ms,
        )

    def _score(self, record: Mapping[str, Any]) -> tuple[TurnScores, str | None]:
        """The turn's scores, and why the fast tier failed (None when it did not)."""
        try:
            return self.scorer.score(record["text"], record["speaker"], record["channel"], rank=False), None
        except Exception as err:  # noqa: BLE001 - a failing model degrades the turn, never stops the job
            reason = f"fast tier error: {type(err).__name__}: {err}"[:300]
            return TurnScores(NEUTRAL_SCORES, None, None, 0.0), reason

    def coach(self, joined: JoinedTurn, state: ConversationState | None) -> Coached:
        """Score and coach one joined turn: every output record, the new state and what was shown."""
        started = time.time()
        turn, record = joined.turn, joined.turn.record
        scored, failure = self._score(record)
        scored_at = time.time()
        context = JoinedContext(joined.customer, joined.agent, joined.context_missing)
        result = coach_turn(
            record,
            context,
            state,
            joined.policy,
            scored.fast,
            ranked=None,
            degraded=False,
            library=self.library,
            model_versions=self.scorer.model_versions,
            pii_types=turn.pii_types,
        )
        shadow = self._shadow(joined, context, state, scored)
        coached_at = time.time()
        latency = {
            "queue": _ms(turn.produced_at, turn.received_at),
            "validate_mask": _ms(turn.received_at, turn.validated_at),
            "join": _ms(turn.validated_at, joined.joined_at),
            "to_coach": _ms(joined.joined_at, started),
            "score_fast": round(scored.fast_ms, 3),
            "coach": _ms(scored_at, coached_at),
            "total": _ms(turn.produced_at, coached_at),
        }
        created_at = utc_iso(coached_at)
        hashes = joined.input_hashes
        audit = [
            audited_turn(
                joined,
                scores=scored.fast.as_dict(),
                model_versions=self.scorer.model_versions,
                degraded_reason=failure,
                created_at=created_at,
                reading=result.reading.as_dict() if result.reading is not None else None,
            )
        ]
        audit.extend(
            audited(s, joined, created_at=created_at, latency_ms=latency, input_hashes=hashes)
            for s in (*result.suggestions, *shadow)
        )
        shown = result.shown
        cards = tuple(published(s, created_at, latency) for s in shown)
        request = None
        if self.deep_tier and result.reading is not None and result.reading.clear:
            request = deep_request(turn, joined.policy, hashes, result.reading.intent, cards, scored.embedding)
        outcome = Outcome(
            key=joined.turn.key,
            suggestions=cards,
            alerts=tuple(published_alert(a, created_at) for a in result.alerts),
            audit=tuple(audit),
            counts={
                "turns": 1,
                "suggestions_shown": len(shown),
                "suggestions_blocked": sum(1 for s in result.suggestions if s.status == "blocked"),
                "alerts": len(result.alerts),
                "degraded": int(failure is not None),
            },
            deep=(request.to_dict(),) if request is not None else (),
        )
        return Coached(outcome, result.new_state, {s.suggestion_id: remembered(s) for s in shown})

    def _shadow(
        self, joined: JoinedTurn, context: JoinedContext, state: ConversationState | None, scored: TurnScores
    ) -> list[Suggestion]:
        """What the challenger would have shown: audited with status `shadow`, never published."""
        if scored.shadow is None:
            return []
        result = coach_turn(
            joined.turn.record,
            context,
            state,
            joined.policy,
            scored.shadow,
            ranked=None,
            degraded=True,
            library=self.library,
            model_versions={**self.scorer.model_versions, **self.scorer.fast.shadow_versions},
            pii_types=joined.turn.pii_types,
        )
        return [s.as_shadow() for s in result.shown]

    def on_keyed(self, raw: RawRecord, store: ConversationStore, reference: ReferenceView) -> Outcome:
        """A turn or a feedback record: ingest, join, coach; state changes only if it all succeeded.

        State is read before ingest because masking depends on it: the agent's last question says
        what PII the customer's answer holds.
        """
        saved = store.conversation.value()
        awaiting = saved.get("awaiting_pii") if saved else None
        envelope = ingest(raw, max_bytes=self.max_event_bytes, expected_pii=awaiting)
        if isinstance(envelope, Rejected):
            return Outcome(key=envelope.key, dlq=(envelope.dlq_record,), counts={"dlq": 1})
        try:
            if envelope.kind == "feedback":
                shown = store.shown.get(envelope.record["suggestion_id"])
                return Outcome(
                    key=envelope.key, audit=(audited_feedback(envelope, shown, utc_iso()),), counts={"feedback": 1}
                )
            state = ConversationState.from_dict(saved) if saved else None
            if state is not None and state.is_redelivery(envelope.record["event_id"], int(envelope.record["seq"])):
                # A producer retry or a replayed offset: coached and audited once already.
                return Outcome(key=envelope.key, counts={"redelivered": 1})
            coached = self.coach(join(envelope, reference), state)
        except Exception as err:  # noqa: BLE001 - park the record in the DLQ rather than restart forever
            return Outcome(key=envelope.key, dlq=(processing_failure(envelope, err),), counts={"failed": 1})
        store.conversation.update(coached.state.to_dict())
        for suggestion_id, summary in coached.shown.items():
            store.shown.put(suggestion_id, summary)
        return coached.outcome

    def on_deep(self, request: Mapping[str, Any]) -> Outcome:
        """The deep tier's updates for one coached turn's request (see udfs.deep_stage)."""
        if self.deep is None:
            return Outcome(key=None)
        started = time.perf_counter()
        outcome = deepen(
            DeepRequest.from_dict(request),
            self.deep,
            self.library,
            deadline_ms=self.deep_deadline_ms,
            expected_ms=self._deep_ms,
        )
        if not outcome.counts.get("deep_shed"):
            # An exponential average of the ranking cost, for admitting the next request in time.
            self._deep_ms += DEEP_COST_WEIGHT * ((time.perf_counter() - started) * 1000.0 - self._deep_ms)
        return outcome

    def on_reference(self, raw: RawRecord, reference: MapLike) -> Outcome:
        """Customer context, agent state or a policy: applies from the next turn on."""
        envelope = ingest(raw, max_bytes=self.max_event_bytes)
        if isinstance(envelope, Rejected):
            return Outcome(key=envelope.key, dlq=(envelope.dlq_record,), counts={"dlq": 1})
        entry = ReferenceEntry.of(dict(envelope.record))
        if envelope.kind == "policy":
            active = reference.get(POLICY_KEY)
            if newer_policy(active.record if active is not None else None, entry.record):
                reference.put(POLICY_KEY, entry)
        else:
            reference.put(f"{envelope.kind}:{envelope.key}", entry)
        return Outcome(key=envelope.key, counts={envelope.kind: 1})


def processing_failure(envelope: Envelope, error: BaseException) -> Mapping[str, Any]:
    """A DLQ record for a valid input the coaching code failed on, so it is parked instead of retried.

    Without this, an exception would fail the job, which would restart from the checkpoint and meet
    the same record again, forever. The record kept is the masked one (the raw bytes must not come
    back unmasked); the error names only the exception type.
    """
    return make_dlq_record(
        f"coach failed: {type(error).__name__}",
        "processing",
        json.dumps(envelope.record, separators=(",", ":"), default=str).encode("utf-8"),
        envelope.key.encode("utf-8"),
        envelope.source.topic,
        envelope.source.partition,
        envelope.source.offset,
        int(envelope.produced_at * 1000),
    )
