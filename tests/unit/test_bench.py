import pytest

from cuecard.bench_cmd import markdown, percentiles


def test_percentiles_of_a_known_sample():
    stats = percentiles([float(v) for v in range(1, 101)])
    assert stats["count"] == 100
    assert stats["p50"] == 51.0 and stats["p99"] == 99.0 and stats["max"] == 100.0
    assert stats["mean"] == pytest.approx(50.5)


def test_percentiles_of_nothing_are_zero():
    assert percentiles([])["p99"] == 0.0


def _run(rate, *, sustained, p99):
    return {
        "config": {"rate": rate, "duration_s": 60.0},
        "target": "flink job",
        "suggestions_delivery": "at-least-once",
        "turns_per_s_audited": rate if sustained else rate * 0.4,
        "sustained": sustained,
        "not_audited_after_drain": 0 if sustained else 4321,
        "duplicated_outputs": 0,
        "cores": 2,
        "loadavg_after": (1.9, 0, 0),
        "latency_ms": percentiles([10.0, 20.0, p99]),
        "stage_ms": {"score_fast": percentiles([0.2, 0.3])},
        "processes": {"flink-taskmanager": {"cpu_percent": 80.0, "rss_mb": 900.0}},
    }


def test_markdown_has_a_row_per_rate_and_the_highest_sustained():
    text = markdown([_run(200, sustained=True, p99=30.0), _run(1000, sustained=False, p99=900.0)], highest=200)
    assert "| 200 | 200 | yes | 20.0 | 30.0 | 30.0 | 30.0 | 0 | 0 | 1.90 |" in text
    assert "| 1000 | 400 | no |" in text and "| 4321 |" in text
    assert "Highest sustained rate measured: 200 turns/s." in text
    assert "| score_fast | 0.20 | 0.30 |" in text and "| flink-taskmanager | 80 | 900 |" in text


def test_rates_are_validated_with_one_line():
    import argparse

    from cuecard.bench_cmd import _rates

    assert _rates("200,500") == [200.0, 500.0]
    for bad in ("fast", "200,-1", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _rates(bad)
