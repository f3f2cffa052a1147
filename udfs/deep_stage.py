"""The deep tier as a stage of its own: it ranks a turn's templates after the fast cards went out.

The fast tier's cards are published at once. For each reply or knowledge card shown, the coach stage
hands a `DeepRequest` to this stage (in the job: a side output read by the `deepen` operator, so it
runs beside the next turn's fast path instead of in its budget). Here the MiniLM ranker picks the best
template of the same kind that passes the same guardrails; if it differs from the fast card, an update
is published that keeps the card's `slot_id` and names the card it `supersedes`, so the desktop
replaces it in place. Past its deadline the update is not published: every deep candidate is audited
`blocked` with `deep.deadline_missed`, and the turn counts as `degraded`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from udfs.clock import utc_iso
from udfs.coaching import template_blocking
from udfs.envelopes import Envelope, JoinedTurn, Outcome, Source
from udfs.guardrails import pii_types_in
from udfs.outputs import audited, published
from udfs.pii import mask_pii
from udfs.records import Suggestion, policy_from, suggestion_id
from udfs.responses import ResponseLibrary
from udfs.scores import RankedResponse

DEEP_KINDS = ("reply", "knowledge")
# What the deep stage reads of a fast card: enough to replace it in place and to audit its candidates.
FAST_CARD_FIELDS = (
    "suggestion_id",
    "slot_id",
    "template_id",
    "kind",
    "text",
    "confidence",
    "human_review",
    "model_versions",
)
FAST_PATH_BEHIND_MS = 100.0
TOP_K = 8  # enough that a reply of the turn's intent is among them


class KindRanker(Protocol):
    """Ranks the templates of several kinds for one text, embedding it once (udfs.deep_tier.DeepRanker)."""

    versions: dict[str, str]

    def rank_kinds(
        self, text: str, intent: str, channel: str, kinds: Sequence[str], k: int, embedding: np.ndarray | None = None
    ) -> dict[str, list[RankedResponse]]:
        """Top-k templates per kind, best first (`embedding`: the text's, if already computed)."""
        ...


@dataclass(frozen=True)
class DeepRequest:
    """What the deep stage needs of a coached turn: its envelope, the policy, the reading, the fast cards."""

    envelope: Envelope
    policy: Mapping[str, Any] | None
    input_hashes: Mapping[str, str]
    intent: str
    fast_cards: Mapping[str, Mapping[str, Any]]  # kind -> the shown fast card (suggestion.v1)
    embedding: np.ndarray | None = None  # the fast tier's sentence embedding of the text, reused

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, for the job's side output."""
        e = self.envelope
        return {
            "envelope": {
                "kind": e.kind,
                "key": e.key,
                "record": dict(e.record),
                "pii_types": list(e.pii_types),
                "input_sha256": e.input_sha256,
                "source": e.source.as_dict(),
                "produced_at": e.produced_at,
                "received_at": e.received_at,
                "validated_at": e.validated_at,
            },
            "policy": self.policy,
            "input_hashes": dict(self.input_hashes),
            "intent": self.intent,
            "fast_cards": {k: dict(v) for k, v in self.fast_cards.items()},
            "embedding": base64.b64encode(self.embedding.astype("<f4").tobytes()).decode()
            if self.embedding is not None
            else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeepRequest:
        """Inverse of `to_dict`."""
        e = raw["envelope"]
        envelope = Envelope(
            kind=e["kind"],
            key=e["key"],
            record=e["record"],
            pii_types=tuple(e["pii_types"]),
            input_sha256=e["input_sha256"],
            source=Source(**e["source"]),
            produced_at=e["produced_at"],
            received_at=e["received_at"],
            validated_at=e["validated_at"],
        )
        vector = raw.get("embedding")
        embedding = np.frombuffer(base64.b64decode(vector), dtype="<f4") if vector else None
        return cls(envelope, raw["policy"], raw["input_hashes"], raw["intent"], raw["fast_cards"], embedding)


def deep_request(
    envelope: Envelope,
    policy: Mapping[str, Any] | None,
    input_hashes: Mapping[str, str],
    intent: str,
    shown: Sequence[Mapping[str, Any]],
    embedding: np.ndarray | None = None,
) -> DeepRequest | None:
    """The request for a customer turn's shown fast cards of the deep kinds, or None when there are none."""
    cards = {
        c["kind"]: {name: c[name] for name in FAST_CARD_FIELDS}
        for c in shown
        if c["kind"] in DEEP_KINDS and c.get("template_id")
    }
    if not cards or envelope.record.get("speaker") != "customer":
        return None
    return DeepRequest(envelope, policy, input_hashes, intent, cards, embedding)


def deepen(
    request: DeepRequest,
    ranker: KindRanker,
    library: ResponseLibrary,
    *,
    deadline_ms: float,
    expected_ms: float = 0.0,
    now: float | None = None,
) -> Outcome:
    """The deep tier's updates of one turn's fast cards, with an audit record per deep candidate.

    A request that cannot be answered in time (it waited so long that `expected_ms` of ranking would
    pass the deadline) is not ranked at all, nor one whose turn queued for the fast path longer than
    `FAST_PATH_BEHIND_MS`: the fast cards come first, and on 2 cores the embedder competes with them for
    the one interpreter the Python operators share, so under overload the deep tier steps aside.
    """
    started = time.time() if now is None else now
    envelope, record = request.envelope, request.envelope.record
    rules = policy_from(request.policy)
    counts = {"deep_turns": 1}
    waited_ms = (started - envelope.produced_at) * 1000.0
    behind_ms = (envelope.received_at - envelope.produced_at) * 1000.0
    if waited_ms + expected_ms > deadline_ms or behind_ms > FAST_PATH_BEHIND_MS:
        return _shed(request, library, ranker.versions, waited_ms, started, counts)
    try:
        kinds = list(request.fast_cards)
        ranked = ranker.rank_kinds(record["text"], request.intent, record["channel"], kinds, TOP_K, request.embedding)
    except Exception:  # noqa: BLE001 - a failing ranker leaves the fast cards standing (counted as degraded)
        return Outcome(key=envelope.key, counts={**counts, "degraded": 1, "deep_failed": 1})
    finished = time.time() if now is None else now
    late_ms = (finished - envelope.produced_at) * 1000.0
    late = late_ms > deadline_ms
    latency = {"rank_deep": round((finished - started) * 1000.0, 3), "total": round(max(0.0, late_ms), 3)}
    versions = {**request.fast_cards[next(iter(request.fast_cards))]["model_versions"], **ranker.versions}
    joined = JoinedTurn(envelope, None, None, request.policy, request.input_hashes, started)
    created_at = utc_iso(finished)
    candidates: list[Suggestion] = []
    for kind, fast in request.fast_cards.items():
        chosen = False
        for item in ranked.get(kind, ()):
            template = library.get(item.template_id)
            if kind == "reply" and template.intent != request.intent:
                continue  # a reply answers the turn as read; only knowledge is retrieved across intents
            blocking = template_blocking(template, rules, record["channel"]) if rules is not None else []
            fired = ["rank.deep_tier"] + blocking
            status = "blocked" if blocking else "superseded"
            if not blocking and not chosen:
                chosen = True
                if late:
                    status, fired = "blocked", [*fired, f"deep.deadline_missed:{int(late_ms)}ms"]
                elif template.template_id == fast["template_id"]:
                    fired.append("deep.confirms_fast_card")
                else:
                    status = "shown"
            text = mask_pii(template.text).masked_text if pii_types_in(template.text) else template.text
            candidates.append(
                _card(request, fast, template.template_id, template.intent, kind, status, text, item, fired, versions)
            )
            if chosen:
                break  # what ranked below the chosen one was never a contender: not audited, not carried
    shown = [c for c in candidates if c.status == "shown"]
    audit = tuple(
        audited(c, joined, created_at=created_at, latency_ms=latency, input_hashes=request.input_hashes)
        for c in candidates
    )
    counts |= {"deep_updates": len(shown), "deep_late": int(late), "degraded": int(late)}
    return Outcome(
        key=envelope.key,
        suggestions=tuple(published(c, created_at, latency) for c in shown),
        audit=audit,
        counts=counts,
    )


def _shed(
    request: DeepRequest,
    library: ResponseLibrary,
    deep_versions: Mapping[str, str],
    waited_ms: float,
    now: float,
    counts: dict[str, int],
) -> Outcome:
    """The audit of a request given up unranked: each fast card stands, its deep candidate is blocked."""
    joined = JoinedTurn(request.envelope, None, None, request.policy, request.input_hashes, now)
    latency = {"rank_deep": 0.0, "total": round(max(0.0, waited_ms), 3)}
    fired = ["deep.shed", f"deep.deadline_missed:{int(waited_ms)}ms"]
    cards = []
    for kind, fast in request.fast_cards.items():
        template = library.get(fast["template_id"])
        item = RankedResponse(template.template_id, float(fast["confidence"]))
        # The deep tier's versions make the candidate's id its own, never the fast card's.
        versions = {**fast["model_versions"], **deep_versions}
        cards.append(
            _card(
                request,
                fast,
                template.template_id,
                template.intent,
                kind,
                "blocked",
                fast["text"],
                item,
                fired,
                versions,
            )
        )
    created_at = utc_iso(now)
    audit = tuple(
        audited(c, joined, created_at=created_at, latency_ms=latency, input_hashes=request.input_hashes) for c in cards
    )
    return Outcome(
        key=request.envelope.key, audit=audit, counts={**counts, "deep_late": 1, "degraded": 1, "deep_shed": 1}
    )


def _card(
    request: DeepRequest,
    fast: Mapping[str, Any],
    template_id: str,
    intent: str,
    kind: str,
    status: str,
    text: str,
    item: RankedResponse,
    fired: list[str],
    versions: Mapping[str, str],
) -> Suggestion:
    record = request.envelope.record
    policy = request.policy or {}
    version = policy.get("version")
    base = Suggestion(
        suggestion_id=suggestion_id(
            record["conversation_id"], record["event_id"], kind, template_id, version, versions
        ),
        conversation_id=record["conversation_id"],
        event_id=record["event_id"],
        agent_id=record["agent_id"],
        customer_id=record["customer_id"],
        channel=record["channel"],
        kind=kind,
        status=status,
        text=text,
        confidence=round(min(1.0, max(0.0, item.score)), 4),
        intent=intent,
        template_id=template_id,
        human_review=bool(fast.get("human_review")),
        degraded=False,
        rules_fired=tuple(dict.fromkeys(fired)),
        model_versions=versions,
        policy_id=policy.get("policy_id"),
        policy_version=version,
    )
    reason = (
        f"knowledge {template_id} (similarity {item.score:.2f})"
        if kind == "knowledge"
        else f"best match {item.score:.2f}"
    )
    return replace(base, reason=reason, slot_id=fast["slot_id"], supersedes=fast["suggestion_id"])
