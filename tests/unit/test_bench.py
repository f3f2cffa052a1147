import pytest

from cuecard.bench_cmd import markdown, percentiles

pytestmark = pytest.mark.unit


def test_percentiles_of_a_known_sample():
    stats = percentiles([float(v) for v in range(1, 101)])
    assert stats["count"] == 100
    assert stats["p50"] == 51.0 and stats["p99"] == 99.0 and stats["max"] == 100.0
    assert stats["mean"] == pytest.approx(50.5)


def test_percentiles_of_nothing_are_zero():
    assert percentiles([])["p99"] == 0.0


def test_markdown_names_the_numbers():
    result = {
        "config": {"rate": 1000.0, "duration_s": 300.0, "suggestions_delivery": "at-least-once"},
        "turns_sent": 10,
        "turns_with_live_output": 9,
        "duplicated_audit_turns": 0,
        "lost_turns": 1,
        "duplicated_outputs": 0,
        "throughput_turns_per_s": 998.0,
        "cores": 2,
        "loadavg_before": (0.5, 0, 0),
        "loadavg_after": (1.9, 0, 0),
        "latency_ms": percentiles([10.0, 20.0, 30.0]),
        "stage_ms": {"score": percentiles([0.2, 0.3])},
        "processes": {"flink-taskmanager": {"cpu_percent": 80.0, "rss_mb": 900.0}},
    }
    text = markdown(result)
    assert "drain 1 (lost" in text and "p99 30.0" in text and "| score | 0.20 | 0.30 | 0.30 |" in text
    assert "| flink-taskmanager | 80 | 900 |" in text
