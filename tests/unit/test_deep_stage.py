"""The asynchronous deep stage: updates that replace a fast card in place, within a deadline."""

import json
import time

import pytest

from udfs.deep_stage import DeepRequest, deepen
from udfs.envelopes import RawRecord
from udfs.records import load_policy_file
from udfs.responses import ResponseLibrary
from udfs.runner import LocalRunner
from udfs.schema_files import load_schema
from udfs.scores import RankedResponse
from udfs.settings import load_settings
from udfs.stages import CoachingCore
from udfs.validation import validate

LIBRARY = ResponseLibrary.load()
TURN = {
    "event_id": "conv-d-000",
    "conversation_id": "conv-d",
    "seq": 0,
    "ts": "2026-11-25T09:00:00.000Z",
    "channel": "chat",
    "speaker": "customer",
    "text": "I returned the jacket two weeks ago and still have not had my money back",
    "customer_id": "cust-d",
    "agent_id": "agent-d",
    "schema_version": 1,
}


class FixedRanker:
    """Ranks whatever it is told to, so a test decides what the deep tier prefers."""

    versions = {"embedder": "test"}

    def __init__(self, ranked=None, error=None):
        self.ranked, self.error = ranked, error

    def rank_kinds(self, text, intent, channel, kinds, k, embedding=None):
        if self.error:
            raise self.error
        return {kind: self.ranked.get(kind, []) for kind in kinds}


@pytest.fixture(scope="module")
def core():
    from models.build import build, default_cache_dir

    build(default_cache_dir(), report=False)
    return CoachingCore.load(load_settings({}), open_deep=False)


def _request(core) -> DeepRequest:
    runner = LocalRunner(core)
    policy = load_policy_file(2)
    runner.feed(RawRecord("coaching.policies", 0, 0, 0, None, json.dumps(policy).encode()))
    raw = RawRecord("conversation.events", 0, 1, int(time.time() * 1000), None, json.dumps(TURN).encode())
    outcome = core.on_keyed(raw, runner.store("conv-d"), runner.reference)
    assert len(outcome.deep) == 1, "a customer turn with library cards asks the deep tier"
    return DeepRequest.from_dict(json.loads(json.dumps(outcome.deep[0])))


def _other_reply(request):
    fast = request.fast_cards["reply"]["template_id"]
    channel = request.envelope.record["channel"]
    return next(t for t in LIBRARY.select(request.intent, channel, "reply") if t.template_id != fast)


def test_a_better_reply_replaces_the_fast_card_in_place(core):
    request = _request(core)
    better = _other_reply(request)
    outcome = deepen(
        request, FixedRanker({"reply": [RankedResponse(better.template_id, 0.8)]}), LIBRARY, deadline_ms=5000
    )
    [update] = outcome.suggestions
    fast = request.fast_cards["reply"]
    assert update["template_id"] == better.template_id and update["status"] == "shown"
    assert update["slot_id"] == fast["slot_id"] and update["supersedes"] == fast["suggestion_id"]
    assert update["model_versions"]["embedder"] == "test" and "rank.deep_tier" in update["rules_fired"]
    assert validate("suggestion", update) is None
    assert all(validate("audit_record", a) is None for a in outcome.audit)
    assert outcome.counts["deep_updates"] == 1 and outcome.counts["degraded"] == 0


def test_the_same_template_confirms_the_fast_card_without_an_update(core):
    request = _request(core)
    same = request.fast_cards["reply"]["template_id"]
    outcome = deepen(request, FixedRanker({"reply": [RankedResponse(same, 0.9)]}), LIBRARY, deadline_ms=5000)
    assert outcome.suggestions == ()
    assert "deep.confirms_fast_card" in outcome.audit[0]["rules_fired"]


def test_a_reply_of_another_intent_is_never_the_update(core):
    request = _request(core)
    stranger = next(t for t in LIBRARY.select(None, "chat", "reply") if t.intent not in (request.intent,))
    outcome = deepen(
        request, FixedRanker({"reply": [RankedResponse(stranger.template_id, 0.99)]}), LIBRARY, deadline_ms=5000
    )
    assert outcome.suggestions == () and outcome.audit == ()


def test_past_the_deadline_nothing_is_published_and_the_turn_is_degraded(core):
    request = _request(core)
    better = _other_reply(request)
    late = request.envelope.produced_at + 2.0
    ranker = FixedRanker({"reply": [RankedResponse(better.template_id, 0.8)]})
    outcome = deepen(request, ranker, LIBRARY, deadline_ms=500, now=late)
    assert outcome.suggestions == ()
    # Not even ranked (shed): each fast card's deep candidate is audited blocked, on its slot.
    assert {a["slot_id"] for a in outcome.audit} == {c["slot_id"] for c in request.fast_cards.values()}
    for audit in outcome.audit:
        assert audit["status"] == "blocked" and "deep.shed" in audit["rules_fired"]
        assert any(r.startswith("deep.deadline_missed:") for r in audit["rules_fired"])
    assert outcome.counts["deep_late"] == 1 and outcome.counts["degraded"] == 1


def test_a_request_that_would_finish_late_is_shed_before_ranking(core):
    request = _request(core)
    ranker = FixedRanker(error=AssertionError("must not be called"))
    outcome = deepen(request, ranker, LIBRARY, deadline_ms=500, expected_ms=600)
    assert outcome.counts["deep_shed"] == 1 and "deep_failed" not in outcome.counts


def test_a_failing_ranker_leaves_the_fast_cards_standing(core):
    outcome = deepen(_request(core), FixedRanker(error=RuntimeError("boom")), LIBRARY, deadline_ms=500)
    assert outcome.suggestions == () and outcome.counts["deep_failed"] == 1


def test_the_schema_documents_the_update_fields():
    props = load_schema("suggestion")["properties"]
    assert {"slot_id", "supersedes", "reason"} <= set(props)


def test_the_deep_tier_steps_aside_while_the_fast_path_is_behind(core):
    from dataclasses import replace

    request = _request(core)
    queued = replace(request.envelope, received_at=request.envelope.produced_at + 0.5)
    ranker = FixedRanker(error=AssertionError("must not be called"))
    outcome = deepen(replace(request, envelope=queued), ranker, LIBRARY, deadline_ms=5000, now=queued.received_at)
    assert outcome.counts["deep_shed"] == 1


def test_a_shed_candidate_never_shares_the_fast_cards_id(core):
    request = _request(core)
    outcome = deepen(request, FixedRanker({}), LIBRARY, deadline_ms=1, now=request.envelope.produced_at + 1)
    fast_ids = {c["suggestion_id"] for c in request.fast_cards.values()}
    assert outcome.audit and not fast_ids & {a["suggestion_id"] for a in outcome.audit}
