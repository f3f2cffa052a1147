"""`cuecard bench`: end-to-end latency and sustained throughput of the running stack, as a benchmark.

For each rate it produces conversation turns for a fixed time, reads `coaching.suggestions` and
`coaching.alerts` concurrently and matches each output to the turn that caused it (`event_id`).
Latency is produce call -> first live output consumed, on one clock (agent turns often yield none).
A rate is sustained when every turn sent has its `turn` record in the committed audit topic within
the drain period after the load (no backlog was left) and the p99 latency stayed under
`--max-p99-ms` (a queue that only drains after the load ended is not keeping up). With `--baseline`
the same client measures the same core as a plain Kafka loop (`jobs.loop_job`) instead of the job.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cuecard import flink_jobs, stack
from cuecard.kafka_clients import FeedRecord, feed_record
from jobs.librdkafka_clients import fast_producer, next_records, tail_consumer
from udfs.settings import PROJECT_ROOT, Settings, load_settings
from udfs.topics import AUDIT, CONVERSATION_EVENTS, LIVE_TOPICS

DEFAULT_RATES = "200,500,1000"
DEEP_TARGET_MS = 150.0  # issue 9: the deep tier answers within this of the turn on >= 95% of turns


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of rates like 200,500,1000") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError(f"{text!r}: every rate must be a positive number of turns per second")
    return rates


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the bench command."""
    bench = subparsers.add_parser(
        "bench",
        help="drive the running stack at several rates and report latency, throughput and the highest sustained rate",
        description="Produce generated conversation turns at each of --rates for --duration seconds to the running "
        "stack (`make up` + `cuecard job submit`) and report, per rate: end-to-end latency p50/p95/p99/max (produce "
        "-> suggestion consumed), the per-stage p50/p99 the job stamps on each suggestion, throughput, turns not "
        "audited by the end of the drain (a backlog), duplicates, CPU and memory per process and the load average. "
        "--find-max then searches for the highest sustained rate. --baseline measures the same core as a plain "
        "single-process Kafka loop instead (cancel the job first). Writes JSON and markdown to --out. "
        "Example: cuecard bench --rates 200,500 --duration 30",
    )
    bench.add_argument("--rates", type=_rates, default=_rates(DEFAULT_RATES), help=f"turns/s (default {DEFAULT_RATES})")
    bench.add_argument("--duration", type=_positive, default=60.0, help="seconds of load per rate (default 60)")
    bench.add_argument("--warmup", type=float, default=5.0, help="seconds of each run excluded from latency stats")
    bench.add_argument("--drain", type=float, default=10.0, help="seconds to wait for the audit after the load")
    bench.add_argument(
        "--max-p99-ms", type=_positive, default=1000.0, help="p99 latency above this is not sustained (default 1000)"
    )
    bench.add_argument("--find-max", action="store_true", help="then search the highest sustained rate (3 more runs)")
    bench.add_argument("--baseline", action="store_true", help="measure the plain Kafka loop, not the Flink job")
    bench.add_argument("--seed", type=int, default=11, help="generator seed")
    bench.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for results (bench-results/)")
    bench.set_defaults(func=_bench)


@dataclass
class Observations:
    """What the reader threads saw, keyed by the turn's event id."""

    first_output: dict[str, float] = field(default_factory=dict)
    stages: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    output_ids: Counter[str] = field(default_factory=Counter)
    outputs: int = 0
    audited_turns: Counter[str] = field(default_factory=Counter)
    deep_done_ms: dict[str, float] = field(default_factory=dict)  # turn -> ms from produce to deep-tier answer
    deep_late: set[str] = field(default_factory=set)
    deep_update: dict[str, float] = field(default_factory=dict)  # turn -> when its first update arrived


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of a sample, in the sample's unit (empty gives zeros)."""
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


def turn_records(seed: int, count: int) -> list[tuple[FeedRecord, str | None]]:
    """`count` valid generator records with ids unique to this run, and each turn's event id.

    Generated before the clock starts, so the load generator spends its time producing. Ids must be
    new: the job ignores a turn whose event id its conversation state has seen (a redelivery).
    """
    from jobs.generator import GeneratorConfig, generate

    run = f"{time.time_ns():x}"
    out: list[tuple[FeedRecord, str | None]] = []
    round_no = 0
    while len(out) < count:
        for item in generate(GeneratorConfig(seed=seed + round_no, conversations=50, malformed_every=0)):
            event_id = None
            if item["topic"] == CONVERSATION_EVENTS.name:
                value = dict(item["value"])
                event_id = value["event_id"] = f"b{run}-{round_no}-{value['event_id']}"
                value["conversation_id"] = f"b{run}-{round_no}-{value['conversation_id']}"
                item = {**item, "key": value["conversation_id"], "value": value}
            out.append((feed_record(item), event_id))
        round_no += 1
    return out[:count]


def _consume_audit(settings: Settings, obs: Observations, stop: threading.Event) -> None:
    consumer = tail_consumer(settings, [AUDIT.name], read_committed=True)
    while not stop.is_set():
        for record in next_records(consumer):
            value = record.value()
            # Turn records and the deep tier's candidates count; the other suggestions are skipped unparsed.
            if record.error() is not None or not value:
                continue
            if b'"record_type":"turn"' in value:
                obs.audited_turns[orjson.loads(value)["event_id"]] += 1
            elif b'"supersedes":"' in value:  # only the deep stage's candidates supersede a card
                _deep_candidate(obs, orjson.loads(value))
    consumer.close()


def _deep_candidate(obs: Observations, audit: dict[str, Any]) -> None:
    """A deep-tier candidate's audit record: when the deep tier answered its turn, and whether in time."""
    event_id = audit["event_id"]
    total = float((audit.get("latency_ms") or {}).get("total", 0.0))
    obs.deep_done_ms[event_id] = min(total, obs.deep_done_ms.get(event_id, total))
    if any(rule.startswith("deep.deadline_missed") for rule in audit.get("rules_fired") or ()):
        obs.deep_late.add(event_id)


def _consume(settings: Settings, obs: Observations, stop: threading.Event) -> None:
    consumer = tail_consumer(settings, [t.name for t in LIVE_TOPICS], read_committed=False)
    while not stop.is_set():
        records = next_records(consumer)
        now = time.monotonic()
        for record in records:
            payload = record.value()
            if record.error() is not None or not payload:
                continue
            value = orjson.loads(payload)
            obs.outputs += 1
            event_id = value.get("event_id")
            obs.output_ids[str(value.get("suggestion_id") or value.get("alert_id"))] += 1
            if value.get("supersedes") and event_id not in obs.deep_update:
                obs.deep_update[str(event_id)] = now
            if event_id and event_id not in obs.first_output:
                obs.first_output[event_id] = now
                for stage, ms in (value.get("latency_ms") or {}).items():
                    obs.stages[stage].append(float(ms))
    consumer.close()


def _cpu_seconds(pid: int) -> tuple[float, float] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(stat[11]) + int(stat[12])) / ticks, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_rate(settings: Settings, pids: dict[str, int], rate: float, args: argparse.Namespace) -> dict[str, Any]:
    """One run at one rate: load, drain, measure; returns the result document."""
    records = turn_records(args.seed, int(rate * args.duration) + 1)
    obs, stop = Observations(), threading.Event()
    readers = [threading.Thread(target=t, args=(settings, obs, stop), daemon=True) for t in (_consume, _consume_audit)]
    for reader in readers:
        reader.start()
    time.sleep(1.0)  # let the readers resolve their positions before the first turn
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    self_before, load_before = resource.getrusage(resource.RUSAGE_SELF), os.getloadavg()
    kafka = fast_producer(settings)
    sent_at: dict[str, float] = {}
    warmup_ids: set[str] = set()
    started = time.monotonic()
    next_progress = started + 5.0
    sent = 0
    while sent < len(records):
        elapsed = time.monotonic() - started
        due = min(len(records), int(elapsed * rate) + 1)
        while sent < due:
            record, event_id = records[sent]
            if event_id is not None:
                sent_at[event_id] = time.monotonic()
                if elapsed < args.warmup:
                    warmup_ids.add(event_id)
            kafka.produce(record.topic, key=record.key, value=record.value)
            sent += 1
        kafka.poll(0)
        if time.monotonic() >= next_progress:
            stack.say(f"bench {rate:.0f}/s: {elapsed:.0f}s, {sent} records sent, {len(obs.audited_turns)} audited")
            next_progress += 5.0
        time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    kafka.flush(30)
    load_seconds = time.monotonic() - started
    after_cpu = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline and any(eid not in obs.audited_turns for eid in sent_at):
        time.sleep(0.2)
    stop.set()
    for reader in readers:
        reader.join(timeout=5)
    latencies = [
        (obs.first_output[eid] - t0) * 1000.0
        for eid, t0 in sent_at.items()
        if eid not in warmup_ids and eid in obs.first_output
    ]
    measured = [eid for eid in sent_at if eid not in warmup_ids]
    deep_ms = [obs.deep_done_ms[eid] for eid in measured if eid in obs.deep_done_ms]
    in_time = [eid for eid in measured if obs.deep_done_ms.get(eid, DEEP_TARGET_MS + 1) <= DEEP_TARGET_MS]
    deep_updates = [(obs.deep_update[eid] - sent_at[eid]) * 1000.0 for eid in measured if eid in obs.deep_update]
    processes = {}
    for name, start_usage in before.items():
        end_usage = after_cpu.get(name)
        if start_usage and end_usage:
            processes[name] = {
                "cpu_percent": 100.0 * (end_usage[0] - start_usage[0]) / load_seconds,
                "rss_mb": end_usage[1],
            }
    # The load generator shares the 2 cores with the stack; its own cost is part of the picture.
    processes["bench (this process)"] = {
        "cpu_percent": 100.0
        * (self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime)
        / load_seconds,
        "rss_mb": self_after.ru_maxrss / 1024,
    }
    lost = len(set(sent_at) - set(obs.audited_turns))
    throughput = (len(sent_at) - lost) / load_seconds
    return {
        "config": {"rate": rate, "duration_s": args.duration, "warmup_s": args.warmup, "drain_s": args.drain},
        "target": "baseline loop" if args.baseline else "flink job",
        "suggestions_delivery": settings.suggestions_delivery,
        "records_sent": sent,
        "turns_sent": len(sent_at),
        "turns_per_s_audited": throughput,
        "sustained": lost == 0 and percentiles(latencies)["p99"] <= args.max_p99_ms,
        "turns_with_live_output": len(obs.first_output),
        "not_audited_after_drain": lost,
        "duplicated_audit_turns": sum(n - 1 for n in obs.audited_turns.values() if n > 1),
        "duplicated_outputs": sum(n - 1 for n in obs.output_ids.values() if n > 1),
        "outputs": obs.outputs,
        "latency_ms": percentiles(latencies),
        "stage_ms": {stage: percentiles(values) for stage, values in sorted(obs.stages.items())},
        "deep": {
            "turns": len(deep_ms),
            "answered_ms": percentiles(deep_ms),
            "within_target_share": len(in_time) / len(deep_ms) if deep_ms else 0.0,
            "target_ms": DEEP_TARGET_MS,
            "late": len(obs.deep_late & set(measured)),
            "update_on_screen_ms": percentiles(deep_updates),
        },
        "processes": processes,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cores": os.cpu_count(),
    }


def _deep_cell(run: dict[str, Any]) -> str:
    deep = run.get("deep") or {}
    if not deep.get("turns"):
        return "- | -"
    answered = deep["answered_ms"]
    return (
        f"{answered['p50']:.0f} / {answered['p95']:.0f} | {100 * deep['within_target_share']:.1f}% of {deep['turns']}"
    )


def markdown(runs: list[dict[str, Any]], highest: float | None) -> str:
    """A human summary: one row per rate, then each run's per-stage and per-process figures."""
    first = runs[0]
    lines = [
        f"# cuecard bench: {first['target']}, {first['suggestions_delivery']}, {first['cores']} cores",
        "",
        "| rate/s | audited/s | sustained | p50 ms | p95 ms | p99 ms | max ms | backlog | dup. outputs | load avg "
        f"| deep p50 / p95 ms | deep <= {DEEP_TARGET_MS:.0f} ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lat = r["latency_ms"]
        lines.append(
            f"| {r['config']['rate']:.0f} | {r['turns_per_s_audited']:.0f} | {'yes' if r['sustained'] else 'no'} "
            f"| {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} "
            f"| {r['not_audited_after_drain']} | {r['duplicated_outputs']} | {r['loadavg_after'][0]:.2f} "
            f"| {_deep_cell(r)} |"
        )
    if highest is not None:
        lines += ["", f"Highest sustained rate measured: {highest:.0f} turns/s."]
    for r in runs:
        lines += ["", f"## {r['config']['rate']:.0f} turns/s", "", "| stage | p50 ms | p99 ms |", "| --- | --- | --- |"]
        lines += [f"| {s} | {v['p50']:.2f} | {v['p99']:.2f} |" for s, v in r["stage_ms"].items()]
        lines += ["", "| process | CPU % | RSS MB |", "| --- | --- | --- |"]
        lines += [f"| {n} | {p['cpu_percent']:.0f} | {p['rss_mb']:.0f} |" for n, p in r["processes"].items()]
    return "\n".join(lines) + "\n"


def _start_baseline(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    if flink_jobs.jobs_by_name(settings, settings.job_name):
        raise stack.StackError(f"{settings.job_name} is running; cancel it (`cuecard job cancel`) before --baseline")
    with log.open("ab") as out:
        loop = subprocess.Popen([sys.executable, "-m", "jobs.loop_job"], cwd=PROJECT_ROOT, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while b"consuming" not in log.read_bytes() and time.monotonic() < deadline:
        if loop.poll() is not None:
            raise stack.StackError(f"the baseline loop exited; see {log}")
        time.sleep(0.5)
    return loop


def _search_max(settings: Settings, pids: dict[str, int], runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Bisect between the highest sustained and the lowest failed rate measured (3 more runs)."""
    for _ in range(3):
        ok = [r["config"]["rate"] for r in runs if r["sustained"]]
        failed = [r["config"]["rate"] for r in runs if not r["sustained"]]
        low = max(ok, default=0.0)
        high = min((f for f in failed if f > low), default=low * 1.5)
        if high - low < 25:
            return
        runs.append(run_rate(settings, pids, round((low + high) / 2), args))


def _bench(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not stack.port_open(settings.kafka_port):
        stack.say("the stack is not running; start it with `make up` and `cuecard job submit`")
        return 2
    pids = {s.name: pid for s in stack.SERVICES if (pid := stack.recorded_pid(s, settings))}
    loop = _start_baseline(settings, settings.run_dir / "logs" / "baseline-loop.log") if args.baseline else None
    if loop is not None:
        pids["baseline loop"] = loop.pid
    try:
        runs = [run_rate(settings, pids, rate, args) for rate in args.rates]
        if args.find_max:
            _search_max(settings, pids, runs, args)
    finally:
        if loop is not None:
            loop.terminate()
            loop.wait(timeout=30)
    sustained = [r["config"]["rate"] for r in runs if r["sustained"]]
    highest = max(sustained) if sustained else None
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"bench-{stamp}.json").write_text(json.dumps({"runs": runs, "highest_sustained": highest}, indent=2))
    summary = markdown(runs, highest)
    (args.out / f"bench-{stamp}.md").write_text(summary)
    print(summary)
    return 0
