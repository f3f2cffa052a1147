"""`cuecard bench`: end-to-end latency of the running coaching job, as a benchmark (not a timed test).

It produces conversation turns at a fixed rate for a fixed time, reads `coaching.suggestions` and
`coaching.alerts` concurrently, and matches each output to the turn that caused it (`event_id`).
Latency is produce-call -> first live output consumed, on one clock (agent turns often yield none). A
turn with no `turn` record in the committed audit topic by the end of the drain period is lost; an id
seen twice is a duplicate. Results: JSON plus a markdown summary, with CPU and memory of the stack's processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cuecard import stack
from cuecard.settings import Settings, load_settings
from cuecard.topics import FeedRecord, consumer_at_end, feed_record, live_consumer, producer

LIVE_TOPICS = ("coaching.suggestions", "coaching.alerts")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the bench command."""
    bench = subparsers.add_parser(
        "bench",
        help="drive the running stack at a rate for a duration and report end-to-end latency",
        description="Produce generated conversation turns at --rate per second for --duration seconds to the "
        "running stack (`make up` + `cuecard job submit`), and report latency p50/p95/p99/max (produce -> "
        "suggestion consumed), the per-stage breakdown the job stamps on each suggestion, throughput, lost "
        "and duplicated outputs, and CPU/memory of the stack's processes. Writes JSON and markdown to --out.",
    )
    bench.add_argument("--rate", type=float, default=1000.0, help="turns per second (default 1000)")
    bench.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    bench.add_argument("--warmup", type=float, default=10.0, help="seconds of load excluded from latency stats")
    bench.add_argument("--drain", type=float, default=20.0, help="seconds to wait for outputs after the load")
    bench.add_argument("--seed", type=int, default=11, help="generator seed")
    bench.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for results (bench-results/)")
    bench.set_defaults(func=_bench)


@dataclass
class Observations:
    """What the consumer thread saw, keyed by the turn's event id."""

    first_output: dict[str, float] = field(default_factory=dict)
    stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    output_ids: Counter[str] = field(default_factory=Counter)
    outputs: int = 0
    audited_turns: Counter[str] = field(default_factory=Counter)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of a sample, in the sample's unit (NaN-free; empty gives zeros)."""
    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "count": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def turn_records(seed: int) -> Iterator[FeedRecord]:
    """An endless stream of valid generator records with ids unique to this run and round.

    The job ignores a turn whose event id its conversation state has seen (a redelivery), so ids
    from an earlier benchmark would be measured as no-ops.
    """
    from jobs.generator import GeneratorConfig, generate

    run = f"{int(time.time()):x}"
    round_no = 0
    while True:
        for item in generate(GeneratorConfig(seed=seed + round_no, conversations=50, malformed_every=0)):
            if item["topic"] == "conversation.events":
                value = dict(item["value"])
                value["event_id"] = f"b{run}-{round_no}-{value['event_id']}"
                value["conversation_id"] = f"b{run}-{round_no}-{value['conversation_id']}"
                item = {**item, "key": value["conversation_id"], "value": value}
            yield feed_record(item)
        round_no += 1


def _consume_audit(settings: Settings, obs: Observations, stop: threading.Event) -> None:
    consumer = consumer_at_end(settings, ["coaching.audit"], read_committed=True)
    while not stop.is_set():
        for records in consumer.poll(timeout_ms=100).values():
            for record in records:
                value = json.loads(record.value)
                if value.get("record_type") == "turn":
                    obs.audited_turns[value["event_id"]] += 1
    consumer.close()


def _consume(settings: Settings, obs: Observations, stop: threading.Event) -> None:
    consumer = live_consumer(settings, LIVE_TOPICS)
    while not stop.is_set():
        for records in consumer.poll(timeout_ms=100).values():
            now = time.monotonic()
            for record in records:
                value = json.loads(record.value)
                obs.outputs += 1
                event_id = value.get("event_id")
                obs.output_ids[str(value.get("suggestion_id") or value.get("alert_id"))] += 1
                if event_id and event_id not in obs.first_output:
                    obs.first_output[event_id] = now
                    for stage, ms in (value.get("latency_ms") or {}).items():
                        obs.stages[stage].append(float(ms))
    consumer.close()


def _process_usage(pids: dict[str, int | None]) -> dict[str, dict[str, float]]:
    usage = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for name, pid in pids.items():
        if not pid:
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except FileNotFoundError:
            continue
        usage[name] = {
            "cpu_seconds": (int(stat[11]) + int(stat[12])) / ticks,
            "rss_mb": rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20,
        }
    return usage


def run_bench(settings: Settings, rate: float, duration: float, warmup: float, drain: float, seed: int) -> dict:
    """Drive the stack and measure; returns the result document."""
    pids = {s.name: stack.recorded_pid(s, settings) for s in stack.SERVICES}
    obs = Observations()
    stop = threading.Event()
    readers = [
        threading.Thread(target=target, args=(settings, obs, stop), daemon=True)
        for target in (_consume, _consume_audit)
    ]
    for reader in readers:
        reader.start()
    time.sleep(1.0)  # let the reader resolve its positions before the first turn
    usage_before = _process_usage(pids)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    load_before = os.getloadavg()
    kafka = producer(settings, acks=1, linger_ms=0)
    sent_at: dict[str, float] = {}
    warmup_ids: set[str] = set()
    started = time.monotonic()
    next_progress = started + 5.0
    sent = 0
    records = turn_records(seed)
    while (elapsed := time.monotonic() - started) < duration:
        while sent < int(elapsed * rate) + 1:
            record = next(records)
            if record.topic == "conversation.events":
                event_id = json.loads(record.value)["event_id"]
                sent_at[event_id] = time.monotonic()
                if elapsed < warmup:
                    warmup_ids.add(event_id)
            kafka.send(record.topic, key=record.key, value=record.value)
            sent += 1
        if time.monotonic() >= next_progress:
            stack.say(f"bench: {elapsed:.0f}s, {sent} records sent, {len(obs.audited_turns)} turns audited")
            next_progress += 5.0
        time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    kafka.flush()
    load_seconds = time.monotonic() - started
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline and any(event_id not in obs.audited_turns for event_id in sent_at):
        time.sleep(0.5)
    stop.set()
    for reader in readers:
        reader.join(timeout=5)
    usage_after = _process_usage(pids)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    latencies = [
        (obs.first_output[eid] - t0) * 1000.0
        for eid, t0 in sent_at.items()
        if eid not in warmup_ids and eid in obs.first_output
    ]
    cpu = {
        name: {
            "cpu_percent": 100.0
            * (usage_after[name]["cpu_seconds"] - usage_before[name]["cpu_seconds"])
            / load_seconds,
            "rss_mb": usage_after[name]["rss_mb"],
        }
        for name in usage_after
        if name in usage_before
    }
    # The load generator shares the 2 cores with the stack; its own cost is part of the picture.
    cpu["bench (this process)"] = {
        "cpu_percent": 100.0
        * (self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime)
        / load_seconds,
        "rss_mb": self_after.ru_maxrss / 1024,
    }
    return {
        "config": {
            "rate": rate,
            "duration_s": duration,
            "warmup_s": warmup,
            "seed": seed,
            "suggestions_delivery": settings.suggestions_delivery,
        },
        "records_sent": sent,
        "turns_sent": len(sent_at),
        "throughput_turns_per_s": len(sent_at) / load_seconds,
        "turns_with_live_output": len(obs.first_output),
        "lost_turns": len(set(sent_at) - set(obs.audited_turns)),
        "duplicated_audit_turns": sum(n - 1 for n in obs.audited_turns.values() if n > 1),
        "duplicated_outputs": sum(n - 1 for n in obs.output_ids.values() if n > 1),
        "outputs": obs.outputs,
        "latency_ms": percentiles(latencies),
        "stage_ms": {stage: percentiles(values) for stage, values in sorted(obs.stages.items())},
        "processes": cpu,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cores": os.cpu_count(),
    }


def markdown(result: dict[str, Any]) -> str:
    """A short human summary of a result document."""
    lat = result["latency_ms"]
    lines = [
        f"# cuecard bench: {result['config']['rate']:.0f} turns/s for {result['config']['duration_s']:.0f} s "
        f"({result['config']['suggestions_delivery']})",
        "",
        f"- turns sent {result['turns_sent']}, with a live output {result['turns_with_live_output']}, not audited "
        f"by the end of the drain {result['lost_turns']} (lost, or queued behind a backlog), "
        f"audited twice {result['duplicated_audit_turns']}, "
        f"duplicated live outputs {result['duplicated_outputs']}",
        f"- throughput {result['throughput_turns_per_s']:.0f} turns/s; {result['cores']} cores, load average "
        f"{result['loadavg_before'][0]:.2f} before, {result['loadavg_after'][0]:.2f} after",
        f"- end-to-end latency (ms): p50 {lat['p50']:.1f}, p95 {lat['p95']:.1f}, p99 {lat['p99']:.1f}, "
        f"max {lat['max']:.1f} over {lat['count']} turns",
        "",
        "| stage | p50 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- |",
    ]
    for stage, stats in result["stage_ms"].items():
        lines.append(f"| {stage} | {stats['p50']:.2f} | {stats['p99']:.2f} | {stats['max']:.2f} |")
    lines += ["", "| process | CPU % | RSS MB |", "| --- | --- | --- |"]
    for name, proc in result["processes"].items():
        lines.append(f"| {name} | {proc['cpu_percent']:.0f} | {proc['rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def _bench(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not stack.port_open(settings.kafka_port):
        stack.say("the stack is not running; start it with `make up` and `cuecard job submit`")
        return 2
    result = run_bench(settings, args.rate, args.duration, args.warmup, args.drain, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"bench-{stamp}.json").write_text(json.dumps(result, indent=2))
    summary = markdown(result)
    (args.out / f"bench-{stamp}.md").write_text(summary)
    print(summary)
    return 0
