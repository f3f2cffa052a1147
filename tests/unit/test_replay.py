import pytest

from cuecard.replay_cmd import compare_audits
from udfs.settings import SettingsError, load_settings


def _turn(event_id, intent, version):
    return {
        "record_type": "turn",
        "event_id": event_id,
        "scores": {"intent": intent},
        "model_versions": {"intent": version},
    }


def _reply(event_id, template):
    return {
        "record_type": "suggestion",
        "event_id": event_id,
        "status": "shown",
        "kind": "reply",
        "template_id": template,
    }


def test_compare_lines_up_turns_and_counts_changes():
    live = [
        _turn("e1", "refund_request", "1"),
        _turn("e2", "complaint", "1"),
        _turn("e3", "other", "1"),
        _reply("e1", "refund.a"),
        _reply("e2", "complaint.a"),
    ]
    replay = [
        _turn("e1", "refund_request", "2"),
        _turn("e2", "billing_dispute", "2"),
        _reply("e1", "refund.a"),
        _reply("e2", "billing.a"),
    ]
    result = compare_audits(live, replay)
    assert result["turns_compared"] == 2 and result["turns_live"] == 3
    assert result["intent_agreement"] == 0.5
    assert result["intent_changes"] == {"complaint -> billing_dispute": 1}
    assert result["reply_template_changed"] == 1 and result["turns_with_replies"] == 2
    assert result["model_versions_replay"] == ['{"intent": "2"}']


def test_compare_of_nothing_has_no_agreement():
    assert compare_audits([], [])["intent_agreement"] is None


def test_replay_settings_name_their_job_and_topics():
    settings = load_settings({"CUECARD_REPLAY_NAME": "try-v2"})
    assert settings.job_name == "cuecard-replay-try-v2"
    assert settings.output_topic("coaching.audit") == "replay.try-v2.coaching.audit"
    assert load_settings({}).output_topic("coaching.audit") == "coaching.audit"
    with pytest.raises(SettingsError, match="CUECARD_INTENT_MODEL"):
        load_settings({"CUECARD_INTENT_MODEL": "bert"})
