import argparse
import io
import json
import re
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from cuecard import score_cmd
from models.build import build, default_cache_dir
from udfs.deep_tier import QUERY_MAX_TOKENS, BudgetedRanker, DeepRanker
from udfs.model_registry import ModelError, ModelRef, Registry, ScorerRefs, sha256_file
from udfs.responses import ResponseLibrary
from udfs.scores import FastScores, RankedResponse
from udfs.scoring import FastScorer, TurnScorer


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The default cache dir, built if needed (a no-op when up to date)."""
    out = default_cache_dir()
    build(out, report=False)
    return out


@pytest.fixture(scope="session")
def library() -> ResponseLibrary:
    return ResponseLibrary.load()


@pytest.fixture(scope="session")
def fast(models_dir: Path) -> FastScorer:
    return FastScorer.load(models_dir)


@pytest.fixture(scope="session")
def deep(models_dir: Path, library: ResponseLibrary) -> DeepRanker:
    return DeepRanker.load(models_dir, library)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want my money back", "refund_request"),
        ("my card was stolen last night, please block it", "card_lost_stolen"),
        ("i'm going to sue you", "legal_threat"),
        ("um so i can't log in to my account it says my password is wrong", "account_access"),
        ("where is my parcel it was supposed to come on tuesday", "order_status"),
        ("hello there", "greeting"),
        ("let me talk to a real person", "speak_to_human"),
    ],
)
def test_clear_examples_get_their_intent(fast: FastScorer, text: str, intent: str) -> None:
    scores = fast.score(text, "customer", "chat")
    assert scores.intent == intent
    assert 0.5 < scores.intent_confidence <= 1.0


def test_compliance_risk_only_for_agents_and_high_for_promises(fast: FastScorer) -> None:
    promise = "I guarantee you'll get a full refund by tomorrow"
    assert fast.score(promise, "agent", "voice").compliance_risk > 0.5
    assert fast.score(promise, "customer", "voice").compliance_risk == 0.0
    assert fast.score("I'm sorry to hear that, let me look into it for you", "agent", "chat").compliance_risk < 0.5
    assert fast.score("that's not my problem, calm down", "agent", "chat").compliance_risk > 0.5


def test_sentiment_and_escalation_move_the_right_way(fast: FastScorer) -> None:
    happy = fast.score("thank you so much, you've been amazing", "customer", "chat")
    angry = fast.score("this is outrageous, get me your manager right now or I'm leaving", "customer", "chat")
    assert -1.0 <= angry.sentiment < 0.0 < happy.sentiment <= 1.0
    assert angry.escalation_risk > 0.5 > happy.escalation_risk


def test_versions_and_shadow_scored_separately(fast: FastScorer) -> None:
    assert fast.versions == {"intent": "1", "sentiment": "1", "compliance": "1"}
    assert fast.shadow_versions == {"intent": "2"}
    champion = fast.score("I want a refund for my order", "customer", "chat")
    shadow = fast.score_shadow("I want a refund for my order", champion)
    assert shadow is not None and shadow.intent == "refund_request"
    assert shadow.intent_confidence != champion.intent_confidence  # a different model produced it
    assert fast.score("I want a refund for my order", "customer", "chat") == champion


def test_customer_turns_are_embedded_once_and_the_embedding_is_returned(models_dir: Path, deep: DeepRanker) -> None:
    scorer = TurnScorer.load(models_dir, {"chat": 1000.0}, refs=ScorerRefs(intent="intent@4"), deep=False)
    text = "they told me to move my savings to a safe account and now it's gone"
    turn = scorer.score(text, "customer", "chat")
    assert turn.fast.intent == "fraud_report" and turn.embedding is not None
    assert turn.embedding.shape == (384,) and turn.embedding.dtype == np.float32
    np.testing.assert_array_equal(turn.embedding, deep.embedder.embed(text, max_tokens=QUERY_MAX_TOKENS))
    assert scorer.fast.score(text, "customer", "chat", embedding=turn.embedding) == turn.fast
    assert turn.shadow is not None and turn.shadow.intent_confidence != turn.fast.intent_confidence


def test_agent_turns_are_not_embedded_and_use_the_text_fallback(models_dir: Path) -> None:
    fast = FastScorer.load(models_dir, ScorerRefs(intent="intent@4"))
    text_only = FastScorer.load(models_dir, ScorerRefs(intent="intent@1", shadow_intent=None))
    assert fast.embeds("customer") and not fast.embeds("agent") and not text_only.embeds("customer")
    text = "I can see the refund went out yesterday"
    assert fast.score(text, "agent", "chat") == text_only.score(text, "agent", "chat")
    scorer = TurnScorer(text_only, BudgetedRanker(_FakeRanker([0.0], 1.0), ResponseLibrary.load(), {}), {})
    assert scorer.score("I want my money back", "customer", "chat").embedding is None
    with pytest.raises(ModelError, match="takes no embedding"):
        text_only.embed("hello")


def test_an_embedding_model_without_its_embedder_is_refused(models_dir: Path) -> None:
    registry = Registry.load(models_dir / "registry.json")
    del registry.entries["intent@4"]["text_fallback"]
    with pytest.raises(ModelError, match=r"intent@4 takes an embedding but its manifest names no .*text_fallback"):
        FastScorer.load(models_dir, ScorerRefs(intent="intent@4"), registries=[registry])


def test_corrupted_artifact_is_refused(models_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    artifact = copy / "intent-1.onnx"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        FastScorer.load(copy)
    message = str(err.value)
    assert "\n" not in message
    assert str(artifact) in message and "intent@1" in message
    # Checked against the manifest the build wrote beside the artifacts (it reproduces the pin).
    assert str(copy / "registry.json") in message
    expected = Registry.load(copy / "registry.json").entries["intent@1"]["artifacts"]["model"]["sha256"]
    assert re.findall(r"\b[0-9a-f]{64}\b", message) == [sha256_file(artifact), expected]
    assert expected == sha256_file(models_dir / "intent-1.onnx")


def test_swapped_artifact_is_refused(models_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    shutil.copyfile(copy / "intent-2.onnx", copy / "intent-1.onnx")  # a valid model, but not intent@1
    with pytest.raises(ModelError, match=r"model intent@1: artifact .*intent-1.onnx has sha256 .* refusing to load"):
        FastScorer.load(copy)


def test_without_the_build_manifest_nothing_loads(tmp_path: Path) -> None:
    # No manifest in the folder: the committed pin alone never vouches for artifacts.
    with pytest.raises(ModelError, match=r"is not in the registry \(.*registry.json\); run `python -m models.build`"):
        FastScorer.load(tmp_path, ScorerRefs())


def test_bad_references_fail_with_one_line(models_dir: Path) -> None:
    with pytest.raises(ModelError, match="not name@version"):
        ModelRef.parse("intent")
    with pytest.raises(ModelError, match="intent@99 is not in the registry"):
        FastScorer.load(models_dir, ScorerRefs(intent="intent@99"))


class _FakeRanker:
    """Advances a fake clock by `cost_ms` per call, optionally raising."""

    def __init__(self, clock: list[float], cost_ms: float, error: Exception | None = None) -> None:
        self.clock, self.cost_ms, self.error, self.calls = clock, cost_ms, error, 0

    def rank(
        self, text: str, intent: str, channel: str, k: int = 3, kind: str = "reply", timeout_ms: float | None = None
    ) -> list[RankedResponse]:
        self.calls += 1
        self.clock[0] += self.cost_ms / 1000.0
        if self.error:
            raise self.error
        return [RankedResponse(f"{intent}.ack.{channel}.v1", 0.9)]


FAST = FastScores("refund_request", 0.8, 0.0, 0.1, 0.0)


def _budgeted(library: ResponseLibrary, ranker: _FakeRanker, budget: float, **kw: int) -> BudgetedRanker:
    return BudgetedRanker(ranker, library, {"chat": budget, "voice": budget}, clock=lambda: ranker.clock[0], **kw)


def test_budget_exhaustion_degrades_to_fast_tier(library: ResponseLibrary) -> None:
    ranker = _FakeRanker([0.0], cost_ms=15.0)
    budgeted = _budgeted(library, ranker, budget=10.0)
    first = budgeted.rank("refund please", FAST, "chat")
    assert first.degraded and first.reason is not None and first.reason.startswith("timeout")
    second = budgeted.rank("refund please", FAST, "chat")
    assert second.degraded and second.reason is not None and second.reason.startswith("budget")
    assert ranker.calls == 1  # skipped: p99 15 ms > 10 ms remaining
    expected = [t.template_id for t in library.select("refund_request", "chat", "reply")][:3]
    assert [r.template_id for r in second.responses] == expected
    ok = budgeted.rank("refund please", FAST, "voice")  # other channel, own cost history
    assert ok.degraded and ranker.calls == 2


def test_budget_fits_and_probes_after_skips(library: ResponseLibrary) -> None:
    ranker = _FakeRanker([0.0], cost_ms=5.0)
    budgeted = _budgeted(library, ranker, budget=10.0, probe_every=3)
    assert not budgeted.rank("x", FAST, "chat").degraded
    assert budgeted.p99_ms("chat") == pytest.approx(5.0)
    assert budgeted.rank("x", FAST, "chat", spent_ms=8.0).reason.startswith("budget")  # type: ignore[union-attr]
    budgeted.rank("x", FAST, "chat", spent_ms=8.0)
    budgeted.rank("x", FAST, "chat", spent_ms=8.0)
    assert ranker.calls == 1
    budgeted.rank("x", FAST, "chat", spent_ms=8.0)  # fourth in a row: probes
    assert ranker.calls == 2


def test_model_raising_only_degrades(library: ResponseLibrary, fast: FastScorer) -> None:
    ranker = _FakeRanker([0.0], cost_ms=1.0, error=RuntimeError("onnxruntime: bad input"))
    scorer = TurnScorer(fast, _budgeted(library, ranker, budget=50.0), {"intent": "1"})
    turn = scorer.score("I want my money back", "customer", "chat")
    assert turn.fast.intent == "refund_request"
    assert turn.deep.degraded
    assert turn.deep.reason == "error: RuntimeError: onnxruntime: bad input"
    assert turn.deep.responses and turn.deep.responses[0].template_id.startswith("refund_request.")


def test_real_session_failure_degrades(models_dir: Path, library: ResponseLibrary, fast: FastScorer) -> None:
    broken = DeepRanker.load(models_dir, library)

    class _Exploding:
        def encode(self, text: str) -> None:
            raise ValueError("tokenizer exploded")

    broken.embedder._tokenizer = _Exploding()
    scorer = TurnScorer(fast, BudgetedRanker(broken, library, {"chat": 100.0}), {})
    turn = scorer.score("I lost my card", "customer", "chat")
    assert turn.deep.degraded and "tokenizer exploded" in (turn.deep.reason or "")


def test_deep_ranking_stays_on_channel_and_favours_intent(deep: DeepRanker, library: ResponseLibrary) -> None:
    for channel in ("chat", "email", "voice"):
        ranked = deep.rank("I want a refund for the broken blender", "refund_request", channel, k=5)
        assert len(ranked) == 5
        assert all(channel in library.get(r.template_id).channels for r in ranked)
        assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
        assert library.get(ranked[0].template_id).intent == "refund_request"
    kb = deep.rank("how long does a refund take", "refund_request", "chat", k=2, kind="knowledge")
    assert all(library.get(r.template_id).kind == "knowledge" for r in kb)


def test_fast_tier_hot_path_is_sub_millisecond(fast: FastScorer) -> None:
    texts = ["I want my money back", "um so like my internet keeps dropping every evening can you help"] * 150
    times = []
    for text in texts:
        t0 = time.perf_counter()
        fast.score(text, "agent", "chat")
        times.append((time.perf_counter() - t0) * 1000.0)
    assert statistics.median(times) < 1.0


def _args(**kw: object) -> argparse.Namespace:
    base = {"models_dir": None, "top_k": 3, "budget_ms": None, "no_deep": False, "shadow": False}
    base.update(kw)
    return argparse.Namespace(**base)


def test_score_cli_good_and_bad_lines(models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    lines = [
        '{"text": "I want my money back", "speaker": "customer", "channel": "chat"}',
        "not json",
        "",
        '{"text": "hello", "speaker": "robot", "channel": "chat"}',
        '{"text": "I guarantee you will be refunded", "speaker": "agent", "channel": "voice"}',
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code = score_cmd.run(_args(models_dir=models_dir, budget_ms=1000.0, shadow=True))
    out, err = capsys.readouterr()
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["intent"] for r in results] == ["refund_request", "refund_request"]
    assert results[1]["compliance_risk"] > 0.5 and results[0]["compliance_risk"] == 0.0
    assert len(results[0]["top_responses"]) == 3 and not results[0]["degraded"]
    assert results[0]["shadow"]["model_versions"] == {"intent": "2"}
    assert set(results[0]) >= {"intent_confidence", "sentiment", "escalation_risk", "top_responses"}
    assert err.splitlines() == [
        "cuecard score: line 2: not JSON (Expecting value at column 1)",
        "cuecard score: line 4: \"speaker\" must be one of customer, agent, system, got 'robot'",
    ]


def test_score_cli_fast_only_and_missing_models(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO('{"text": "cancel my plan", "speaker": "customer", "channel": "email"}\n')
    )
    assert score_cmd.run(_args(models_dir=models_dir, no_deep=True)) == 0
    out, _ = capsys.readouterr()
    result = json.loads(out)
    assert result["degraded"] and result["top_responses"][0]["template_id"] == "cancel_service.ack.email.v1"
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert score_cmd.run(_args(models_dir=tmp_path)) == 2
    _, err = capsys.readouterr()
    assert err.startswith("cuecard: error: ") and "run `python -m models.build`" in err and err.count("\n") == 1


def test_hard_timeout_stops_the_deep_tier(deep: DeepRanker, library: ResponseLibrary) -> None:
    long_text = " ".join(["my parcel never arrived and the tracking has not moved for a week"] * 12)
    t0 = time.perf_counter()
    full = deep.rank(long_text, "order_status", "chat")
    full_ms = (time.perf_counter() - t0) * 1000.0
    with pytest.raises(Exception, match="(?i)terminat|exiting"):
        deep.rank(long_text, "order_status", "chat", timeout_ms=0.5)
    assert deep.rank(long_text, "order_status", "chat", timeout_ms=10_000) == full  # flag was reset
    budgeted = BudgetedRanker(deep, library, {"chat": 1.0})
    result = budgeted.rank(long_text, FAST, "chat")
    assert result.degraded and (result.reason or "").startswith("timeout: deep tier stopped")
    assert result.latency_ms < full_ms
