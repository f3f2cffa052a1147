import pytest

from models.eval.pii_eval import PRECISION_TARGET, RECALL_TARGETS, evaluate, load, markdown


@pytest.fixture(scope="module")
def report():
    return evaluate(load(), repeat=1)


def test_set_is_large_enough_and_consistent() -> None:
    records = load()  # also checks every span against its `value`
    spans = [s for r in records for s in r.spans]
    assert len(spans) >= 300
    assert sum(1 for r in records if not r.spans) >= 200
    assert {s.pii_type for s in spans} >= {"CARD", "CVV", "SSN", "IBAN", "DOB", "ADDRESS", "NAME", "EMAIL", "PHONE"}
    assert {r.style for r in records} == {"chat", "email", "voice"}


@pytest.mark.parametrize(("pii_type", "target"), sorted(RECALL_TARGETS.items()))
def test_recall_targets(report, pii_type: str, target: float) -> None:
    score = report.scores[pii_type]
    assert score.recall >= target, [m for m in report.misses if f" {pii_type} " in m]


def test_precision_target_for_every_type(report) -> None:
    low = {t: round(s.precision, 3) for t, s in report.scores.items() if s.precision < PRECISION_TARGET}
    assert not low, (low, report.false_positives)


def test_markdown_table_lists_every_type(report) -> None:
    table = markdown(report)
    for pii_type in RECALL_TARGETS:
        assert f"| {pii_type} |" in table
    assert "p99" in table
