"""One turn through scoring and coaching, and one feedback record against what was shown.

`TurnProcessor` is what the job's keyed `coach` operator holds: it is opened once (ONNX sessions,
response library) and then called per record with the conversation's state and the broadcast
reference data. It returns plain dicts for the three outputs (live suggestions, supervisor alerts,
audit records) and the new state, so the Flink wrapper only emits them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cuecard.settings import Settings
from udfs.coaching import JoinedContext, coach_turn, shown_summary
from udfs.conversation import ConversationState
from udfs.envelopes import canonical_hash, common_audit_fields, utc_iso
from udfs.records import Suggestion
from udfs.responses import ResponseLibrary
from udfs.scoring import DeepResult, FastScores, ScorerRefs, TurnScorer, TurnScores, default_registries

# When the fast tier itself fails the turn is still coached (alerts, disclosures) on neutral scores.
NEUTRAL_SCORES = FastScores("other", 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Outcome:
    """What one record produced."""

    suggestions: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    shown_index: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: int = 0
    degraded: bool = False


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 3)


class TurnProcessor:
    """Scores a masked turn, coaches it under the active policy and builds every output record."""

    def __init__(self, scorer: TurnScorer, library: ResponseLibrary) -> None:
        self.scorer = scorer
        self.library = library

    @classmethod
    def load(cls, settings: Settings) -> TurnProcessor:
        """Open the models (hash-checked against the registry) and the response library."""
        library = ResponseLibrary.load()
        registries = default_registries(settings.models_dir)
        refs = ScorerRefs.from_registry(registries)
        if settings.intent_model:
            refs = replace(refs, intent=settings.intent_model)
        scorer = TurnScorer.load(
            settings.models_dir, settings.budgets, refs, library, registries, deep=settings.deep_tier
        )
        return cls(scorer, library)

    def _score(self, record: Mapping[str, Any]) -> TurnScores:
        try:
            return self.scorer.score(record["text"], record["speaker"], record["channel"])
        except Exception as err:  # noqa: BLE001 - a failing model degrades the turn, never stops the job
            failed = DeepResult((), True, f"fast tier error: {type(err).__name__}: {err}"[:300], 0.0)
            return TurnScores(NEUTRAL_SCORES, None, failed, 0.0)

    def turn(
        self,
        envelope: Mapping[str, Any],
        state: Mapping[str, Any] | None,
        agent: Mapping[str, Any] | None,
        policy: Mapping[str, Any] | None,
    ) -> Outcome:
        """Coach one masked turn (with the customer context the previous operator attached)."""
        started = time.time()
        record = envelope["record"]
        customer = envelope.get("customer")
        missing = tuple(
            name for name, value in (("customer", customer), ("agent", agent), ("policy", policy)) if value is None
        )
        scored = self._score(record)
        scored_at = time.time()
        ranked = None if scored.deep.degraded else scored.deep.responses
        previous = ConversationState.from_dict(state) if state else None
        result = coach_turn(
            record,
            JoinedContext(customer, agent, missing),
            previous,
            policy,
            scored.fast,
            ranked,
            scored.deep.degraded,
            self.library,
            self.scorer.model_versions,
            envelope["pii_types"],
        )
        coached_at = time.time()
        stamps = envelope["stamps"]
        latency = {
            "queue": _ms(stamps["produced"], stamps["received"]),
            "validate_mask": _ms(stamps["received"], stamps["validated"]),
            "join_customer": _ms(stamps["validated"], stamps["joined"]),
            "to_coach": _ms(stamps["joined"], started),
            "score_fast": round(scored.fast_ms, 3),
            "rank_deep": round(scored.deep.latency_ms, 3),
            "coach": _ms(scored_at, coached_at),
            "total": _ms(stamps["produced"], coached_at),
        }
        created_at = utc_iso(coached_at)
        hashes = {"turn": envelope["input_sha256"]}
        for name, value in (("customer", customer), ("agent", agent), ("policy", policy)):
            if value is not None:
                hashes[name] = canonical_hash(value)

        def audit_base(record_type: str, key: tuple[str, ...], versions: Mapping[str, str]) -> dict[str, Any]:
            base = common_audit_fields(
                record_type,
                key,
                record["conversation_id"],
                record["event_id"],
                record["ts"],
                policy,
                versions,
                envelope["source"],
            )
            base["created_at"] = created_at
            return base

        audit = [
            {
                **audit_base("turn", (record["event_id"],), self.scorer.model_versions),
                "seq": record["seq"],
                "channel": record["channel"],
                "speaker": record["speaker"],
                "customer_id": record["customer_id"],
                "agent_id": record["agent_id"],
                "masked_text": record["text"],
                "pii_types": list(envelope["pii_types"]),
                "input_sha256": envelope["input_sha256"],
                "context_missing": list(missing),
                "scores": scored.fast.as_dict(),
                "degraded_reason": scored.deep.reason,
            }
        ]
        for suggestion in (
            *result.suggestions,
            *self._shadow(envelope, customer, agent, missing, previous, policy, scored),
        ):
            audit.append(
                {
                    **audit_base("suggestion", (suggestion.suggestion_id,), suggestion.model_versions),
                    **_suggestion_fields(suggestion),
                    "latency_ms": latency,
                    "input_hashes": hashes,
                }
            )
        shown = result.shown
        return Outcome(
            suggestions=[s.to_dict(created_at, latency) for s in shown],
            alerts=[a.to_dict(created_at) for a in result.alerts],
            audit=audit,
            state=result.new_state.to_dict(),
            shown_index={s.suggestion_id: shown_summary(s) for s in shown},
            blocked=sum(1 for s in result.suggestions if s.status == "blocked"),
            degraded=scored.deep.degraded,
        )

    def _shadow(
        self,
        envelope: Mapping[str, Any],
        customer: Mapping[str, Any] | None,
        agent: Mapping[str, Any] | None,
        missing: tuple[str, ...],
        previous: ConversationState | None,
        policy: Mapping[str, Any] | None,
        scored: TurnScores,
    ) -> list[Suggestion]:
        """What the challenger would have shown: audited with status `shadow`, never published."""
        if scored.shadow is None:
            return []
        shadow_versions = {**self.scorer.model_versions, **self.scorer.fast.shadow_versions}
        result = coach_turn(
            envelope["record"],
            JoinedContext(customer, agent, missing),
            previous,
            policy,
            scored.shadow,
            None,
            True,
            self.library,
            shadow_versions,
            envelope["pii_types"],
        )
        return [_as_shadow(s) for s in result.shown]

    def feedback(self, envelope: Mapping[str, Any], shown: Mapping[str, Any] | None) -> Outcome:
        """Join agent feedback to the suggestion it answers (known if it was shown and not expired)."""
        record = envelope["record"]
        found = shown is not None and shown.get("suggestion_id") == record["suggestion_id"]
        versions = dict(shown["model_versions"]) if found and shown else {}
        policy = {"policy_id": None, "version": shown.get("policy_version")} if found and shown else None
        audit = common_audit_fields(
            "feedback",
            (record["event_id"],),
            record["conversation_id"],
            record["event_id"],
            record["ts"],
            policy,
            versions,
            envelope["source"],
        )
        audit.update(
            suggestion_id=record["suggestion_id"],
            agent_id=record["agent_id"],
            action=record["action"],
            edited_text=record.get("edited_text"),
            found=found,
        )
        return Outcome(audit=[audit])


def _as_shadow(suggestion: Suggestion) -> Suggestion:
    return replace(suggestion, status="shadow")


def _suggestion_fields(suggestion: Suggestion) -> dict[str, Any]:
    return {
        "suggestion_id": suggestion.suggestion_id,
        "kind": suggestion.kind,
        "text": suggestion.text,
        "confidence": suggestion.confidence,
        "status": suggestion.status,
        "rules_fired": list(suggestion.rules_fired),
        "template_id": suggestion.template_id,
        "human_review": suggestion.human_review,
        "degraded": suggestion.degraded,
    }
