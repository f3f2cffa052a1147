import hashlib

from udfs.coaching import coach_turn
from udfs.outputs import remembered
from udfs.records import Policy, load_policy_file, suggestion_id
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores, RankedResponse
from udfs.turn_work import JoinedContext
from udfs.validation import validate


def template(tid: str, intent: str, kind: str, channels: list[str], tone: str, text: str, disclosures=()) -> dict:
    return {
        "template_id": tid,
        "version": 1,
        "intent": intent,
        "kind": kind,
        "channels": channels,
        "tone": tone,
        "text": text,
        "disclosures": list(disclosures),
    }


REFUND_TEXT = "I'll start the refund now. Refunds usually take 5 to 7 business days to appear on your statement."
LIBRARY = ResponseLibrary.from_dict(
    {
        "library_version": "test.1",
        "disclosures": [{"disclosure_id": "refund_timeline", "text": "Refunds take 5 to 7 business days."}],
        "templates": [
            template(
                "refund.plain.chat", "refund_request", "reply", ["chat"], "neutral", "I can help with your refund."
            ),
            template(
                "refund.timeline.chat", "refund_request", "reply", ["chat"], "neutral", REFUND_TEXT, ["refund_timeline"]
            ),
            template(
                "refund.sorry.chat",
                "refund_request",
                "reply",
                ["chat"],
                "empathetic",
                "I'm sorry about this. " + REFUND_TEXT,
                ["refund_timeline"],
            ),
            template(
                "refund.promise.chat", "refund_request", "reply", ["chat"], "neutral", "I guarantee the refund today."
            ),
            template(
                "refund.pii.chat",
                "refund_request",
                "reply",
                ["chat"],
                "neutral",
                "Write to refunds.canary@example.com.",
            ),
            template("refund.long.chat", "refund_request", "reply", ["chat"], "neutral", "Refund details. " * 30),
            template(
                "refund.casual.email", "refund_request", "reply", ["email"], "neutral", "Hey! Refund's on its way."
            ),
            template(
                "refund.formal.email",
                "refund_request",
                "reply",
                ["email"],
                "formal",
                "Dear customer, we have started your refund.",
            ),
            template("refund.voice", "refund_request", "reply", ["voice"], "neutral", "I'll start that refund now."),
            template(
                "refund.kb",
                "refund_request",
                "knowledge",
                ["chat", "email", "voice"],
                "neutral",
                "Refunds go to the original payment method.",
            ),
            template(
                "refund.kb2",
                "refund_request",
                "knowledge",
                ["chat", "email", "voice"],
                "neutral",
                "Refund eligibility: 30 days.",
            ),
            template(
                "refund.next",
                "refund_request",
                "next_action",
                ["chat", "email", "voice"],
                "neutral",
                "Check eligibility, then submit the refund.",
            ),
            template(
                "legal.chat", "legal_threat", "reply", ["chat"], "neutral", "I understand. I can't give legal advice."
            ),
            template(
                "legal.kb", "legal_threat", "knowledge", ["chat"], "neutral", "Legal threats: do not admit liability."
            ),
            template(
                "plan.free.chat",
                "plan_change",
                "reply",
                ["chat"],
                "neutral",
                "The upgrade is completely free this month.",
            ),
        ],
    }
)
V1, V2 = load_policy_file(1), load_policy_file(2)
MODELS = {"intent": "intent@1", "sentiment": "sentiment@1"}
CONTEXT = JoinedContext(
    {"customer_id": "cust-1", "vulnerable": False}, {"agent_id": "agent-1", "supervisor_id": "sup-1"}, ()
)


def turn(seq: int, speaker: str, text: str, channel: str = "chat", conversation: str = "c1") -> dict:
    return {
        "event_id": f"{conversation}-{seq:03d}",
        "conversation_id": conversation,
        "seq": seq,
        "ts": f"2026-11-25T08:00:{seq:02d}.000Z",
        "channel": channel,
        "speaker": speaker,
        "text": text,
        "customer_id": "cust-1",
        "agent_id": "agent-1",
        "schema_version": 1,
    }


def fast(intent="refund_request", confidence=0.9, sentiment=0.0, escalation=0.1, compliance=0.0) -> FastScores:
    return FastScores(intent, confidence, sentiment, escalation, compliance)


def coach(t, s, *, state=None, policy=V1, ranked=None, degraded=False, context=CONTEXT, pii_types=()):
    return coach_turn(
        t,
        context,
        state,
        policy,
        s,
        ranked=ranked,
        degraded=degraded,
        library=LIBRARY,
        model_versions=MODELS,
        pii_types=pii_types,
    )


def by_template(result) -> dict:
    return {s.template_id: s for s in result.suggestions if s.template_id}


def test_reply_outcomes_shown_superseded_blocked() -> None:
    result = coach(turn(0, "customer", "I want a refund"), fast())
    replies = by_template(result)
    # The template carrying the pending refund disclosure wins over the plain one.
    assert replies["refund.timeline.chat"].status == "shown"
    assert replies["refund.plain.chat"].status == "superseded"
    assert "superseded_by:refund.timeline.chat" in replies["refund.plain.chat"].rules_fired
    assert replies["refund.promise.chat"].status == "blocked"
    assert "policy.forbidden_phrase:guarantee" in replies["refund.promise.chat"].rules_fired
    assert replies["refund.long.chat"].status == "blocked"
    assert "policy.channel_limit.max_chars:chat:300" in replies["refund.long.chat"].rules_fired
    pii = replies["refund.pii.chat"]
    assert pii.status == "blocked" and "guardrail.pii:EMAIL" in pii.rules_fired
    assert "canary" not in pii.text and "[EMAIL]" in pii.text
    assert [s.kind for s in result.shown].count("reply") == 1
    assert replies["refund.kb"].status == "shown" and replies["refund.kb2"].status == "superseded"
    assert replies["refund.next"].status == "shown"
    assert result.alerts == ()


def test_upset_customer_gets_empathetic_reply_first() -> None:
    result = coach(turn(0, "customer", "I want a refund, this is awful"), fast(sentiment=-0.6))
    assert by_template(result)["refund.sorry.chat"].status == "shown"


def test_ranked_templates_come_first_and_carry_their_score() -> None:
    ranked = [RankedResponse("refund.plain.chat", 0.83), RankedResponse("not.in.library", 0.99)]
    result = coach(turn(0, "customer", "refund?"), fast(), ranked=ranked)
    shown = by_template(result)["refund.plain.chat"]
    assert shown.status == "shown" and shown.confidence == 0.83
    assert "rank.deep_tier" in shown.rules_fired


def test_degraded_is_flagged() -> None:
    result = coach(turn(0, "customer", "refund?"), fast(), degraded=True)
    reply = by_template(result)["refund.timeline.chat"]
    assert reply.degraded and "degraded.fast_tier_fallback" in reply.rules_fired


def test_email_requires_formal_tone() -> None:
    result = coach(turn(0, "customer", "refund?", channel="email"), fast())
    replies = by_template(result)
    assert replies["refund.casual.email"].status == "blocked"
    assert "policy.channel_limit.formal:email" in replies["refund.casual.email"].rules_fired
    assert replies["refund.formal.email"].status == "shown"


def test_low_confidence_blocks_library_suggestions() -> None:
    result = coach(turn(0, "customer", "erm"), fast(confidence=0.2))
    assert result.suggestions and all(s.status == "blocked" for s in result.suggestions)
    assert all("threshold.min_confidence" in s.rules_fired for s in result.suggestions)


def test_no_policy_fails_closed() -> None:
    result = coach(turn(0, "customer", "refund"), fast(), policy=None)
    assert result.shown == ()
    assert all("context.policy_missing" in s.rules_fired for s in result.suggestions)
    assert all(s.policy_version is None for s in result.suggestions)


def test_missing_context_is_recorded_not_guessed() -> None:
    context = JoinedContext(None, None, ("customer", "agent"))
    result = coach(turn(0, "customer", "refund"), fast(), context=context)
    shown = [s for s in result.shown if s.kind == "reply"][0]
    assert {"context.missing:customer", "context.missing:agent"} <= set(shown.rules_fired)


def test_high_risk_intent_gets_human_review_and_supervisor_alert_instead_of_reply() -> None:
    result = coach(turn(0, "customer", "I'll see you in court"), fast("legal_threat", sentiment=-0.7))
    replies = [s for s in result.suggestions if s.kind == "reply"]
    assert replies and all(s.status == "blocked" for s in replies)
    assert all("guardrail.high_risk_intent:legal_threat" in s.rules_fired for s in replies)
    assert all(
        s.human_review for s in result.suggestions if s.kind != "escalation" or s.rules_fired[0].startswith("guardrail")
    )
    hint = [s for s in result.shown if s.kind == "escalation"]
    assert hint and hint[0].human_review
    alerts = [a for a in result.alerts if a.alert_type == "high_risk_intent"]
    assert len(alerts) == 1 and alerts[0].severity == "critical" and alerts[0].supervisor_id == "sup-1"
    # Sticky: the next refund question in the same conversation still needs review, but no second alert.
    later = coach(turn(1, "customer", "refund then"), fast(), state=result.new_state)
    assert all(s.status == "blocked" for s in later.suggestions if s.kind == "reply")
    assert "guardrail.high_risk_conversation:legal_threat" in by_template(later)["refund.timeline.chat"].rules_fired
    assert [a for a in later.alerts if a.alert_type == "high_risk_intent"] == []


def test_vulnerable_flag_in_customer_context_counts_as_high_risk() -> None:
    context = JoinedContext({"customer_id": "cust-1", "vulnerable": True}, None, ("agent",))
    result = coach(turn(0, "customer", "refund"), fast(), context=context)
    assert all(s.status == "blocked" for s in result.suggestions if s.kind == "reply")
    assert [a.alert_type for a in result.alerts] == ["high_risk_intent"]
    assert result.alerts[0].supervisor_id is None


def test_escalation_and_angry_trajectory_alert_once() -> None:
    state = None
    alerts = []
    hints = []
    for seq in range(4):
        result = coach(turn(seq, "customer", "This is ridiculous"), fast(sentiment=-0.8, escalation=0.9), state=state)
        state = result.new_state
        alerts += [a.alert_type for a in result.alerts]
        hints += [s for s in result.shown if s.kind == "escalation"]
    assert alerts.count("escalation_risk") == 1
    assert alerts.count("angry_trajectory") == 1
    assert len(hints) == 1


def test_agent_forbidden_phrase_raises_compliance_alert_and_supervisor_alert() -> None:
    result = coach(turn(1, "agent", "I GUARANTEE it arrives tomorrow, I promise"), fast(compliance=0.9))
    cards = [s for s in result.shown if s.kind == "compliance_alert"]
    assert len(cards) == 1
    assert {"policy.forbidden_phrase:guarantee", "policy.forbidden_phrase:i promise"} <= set(cards[0].rules_fired)
    assert Policy.load_default(1).forbidden_in(cards[0].text) == []
    assert [a.alert_type for a in result.alerts] == ["forbidden_phrase"]


def test_compliance_risk_from_the_model_alone() -> None:
    result = coach(turn(1, "agent", "Let me see what I can do"), fast(compliance=0.95))
    assert [s.rules_fired for s in result.shown] == [("threshold.compliance_risk",)]


def test_agent_reading_out_card_numbers() -> None:
    result = coach(turn(1, "agent", "That's card [CARD_LAST4:1111]"), fast(), pii_types=["CARD"])
    assert any("policy.agent_pii:CARD" in s.rules_fired for s in result.shown)
    assert [a.alert_type for a in result.alerts] == ["agent_pii"]


def test_missing_disclosure_reminded_once_then_alerted_at_closing() -> None:
    first = coach(turn(0, "customer", "refund please"), fast())
    agent = coach(turn(1, "agent", "Sure, I'll do that."), fast(), state=first.new_state)
    reminders = [s for s in agent.shown if s.kind == "compliance_alert"]
    assert len(reminders) == 1
    assert reminders[0].rules_fired == ("policy.required_disclosure:refund_request:refund_timeline",)
    assert "5 to 7 business days" in reminders[0].text
    again = coach(turn(2, "agent", "Anything else?"), fast(), state=agent.new_state)
    assert [s for s in again.suggestions if s.kind == "compliance_alert"] == []
    closing = coach(turn(3, "customer", "bye"), fast("closing"), state=again.new_state)
    assert [a.alert_type for a in closing.alerts] == ["missing_disclosure"]


def test_disclosure_made_means_no_reminder() -> None:
    first = coach(turn(0, "customer", "refund please"), fast())
    agent = coach(turn(1, "agent", REFUND_TEXT), fast(), state=first.new_state)
    assert agent.suggestions == ()
    closing = coach(turn(2, "customer", "bye"), fast("closing"), state=agent.new_state)
    assert closing.alerts == ()


def test_policy_update_changes_behaviour_from_the_next_turn() -> None:
    before = coach(turn(0, "customer", "upgrade me"), fast("plan_change"), policy=V1)
    assert by_template(before)["plan.free.chat"].status == "shown"
    after = coach(turn(1, "customer", "upgrade me"), fast("plan_change"), state=before.new_state, policy=V2)
    blocked = by_template(after)["plan.free.chat"]
    assert blocked.status == "blocked" and "policy.forbidden_phrase:completely free" in blocked.rules_fired
    assert blocked.policy_version == V2["version"]
    agent_v1 = coach(turn(2, "agent", "It's completely free"), fast("plan_change"), state=after.new_state, policy=V1)
    agent_v2 = coach(turn(2, "agent", "It's completely free"), fast("plan_change"), state=after.new_state, policy=V2)
    assert not any(a.alert_type == "forbidden_phrase" for a in agent_v1.alerts)
    assert any(a.alert_type == "forbidden_phrase" for a in agent_v2.alerts)


def test_system_turns_only_update_state() -> None:
    result = coach(turn(0, "system", "customer joined"), fast("other"))
    assert result.suggestions == () and result.alerts == () and result.new_state.turns == 1


def test_redelivered_turn_yields_nothing_new() -> None:
    first = coach(turn(0, "customer", "refund"), fast())
    again = coach(turn(0, "customer", "refund"), fast(), state=first.new_state)
    assert again.suggestions == () and again.new_state is first.new_state


def test_ids_are_deterministic_and_documented() -> None:
    a = coach(turn(0, "customer", "refund"), fast())
    b = coach(turn(0, "customer", "refund"), fast())
    assert [s.suggestion_id for s in a.suggestions] == [s.suggestion_id for s in b.suggestions]
    assert len({s.suggestion_id for s in a.suggestions}) == len(a.suggestions)
    shown = by_template(a)["refund.timeline.chat"]
    versions = {**MODELS, "response_library": "test.1"}
    assert shown.model_versions == versions
    expected = hashlib.sha256(
        "\x1f".join(
            [
                "c1",
                "c1-000",
                "reply",
                "refund.timeline.chat",
                V1["version"],
                "intent=intent@1,response_library=test.1,sentiment=sentiment@1",
            ]
        ).encode()
    ).hexdigest()
    assert (
        shown.suggestion_id
        == expected
        == suggestion_id("c1", "c1-000", "reply", "refund.timeline.chat", V1["version"], versions)
    )
    other_model = coach_turn(
        turn(0, "customer", "refund"),
        CONTEXT,
        None,
        V1,
        fast(),
        ranked=None,
        degraded=False,
        library=LIBRARY,
        model_versions={"intent": "intent@2"},
    )
    assert by_template(other_model)["refund.timeline.chat"].suggestion_id != shown.suggestion_id


def test_outputs_conform_to_their_schemas() -> None:
    state = None
    records = []
    for seq, (speaker, text, scores) in enumerate(
        [
            ("customer", "refund", fast(sentiment=-0.9, escalation=0.95)),
            ("agent", "I guarantee it", fast(compliance=0.9)),
            ("customer", "court!", fast("legal_threat", sentiment=-0.9)),
            ("customer", "bye", fast("closing")),
        ]
    ):
        result = coach(turn(seq, speaker, text), scores, state=state)
        state = result.new_state
        records += [("suggestion", s.to_dict("2026-11-25T08:00:00.000Z", {"coach": 0.2})) for s in result.suggestions]
        records += [("alert", a.to_dict("2026-11-25T08:00:00.000Z")) for a in result.alerts]
    assert {name for name, _ in records} == {"suggestion", "alert"}
    for name, record in records:
        assert validate(name, record) is None, record


def test_remembered_summary_keeps_what_feedback_needs_and_no_text() -> None:
    result = coach(turn(0, "customer", "refund"), fast())
    shown = [s for s in result.shown if s.kind == "reply"][0]
    summary = remembered(shown)
    assert summary["suggestion_id"] == shown.suggestion_id
    assert summary["template_id"] == "refund.timeline.chat"
    assert summary["model_versions"]["intent"] == "intent@1"
    assert "text" not in summary
