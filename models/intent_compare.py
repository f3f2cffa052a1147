"""Intent: TF-IDF (intent@1) vs the MiniLM head (intent@3) vs their ensemble (intent@4), measured as served.

Quality on (a) the generated held-out families not used for calibration (every variant) and (b) the customer
turns of the hand-written evaluation set (models/eval/), each scored alone after PII masking, as the job
scores it: accuracy overall and by channel, recall on the high-risk intents, ECE before/after calibration.
A prediction below the confidence floor counts as `unclear` (right only where the set expects `unclear`).
Latency: the fast tier's customer turn (intent + sentiment) with each intent model, per channel, one thread.
Nothing here trains or tunes: it reads built artifacts (`python -m models.build` first).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from models.calibration import ece, log_probs, softmax
from models.common import load_dataset
from models.embeddings import embed_texts, is_calibration
from models.eval.dataset import UNCLEAR, load_conversations
from models.eval.metrics import HIGH_RISK
from models.report import percentiles
from udfs.model_registry import ModelError, ModelRef, ScorerRefs, default_registries, open_session, resolve
from udfs.pii import mask_pii
from udfs.scoring import FastScorer
from udfs.settings import load_settings

TEXT, HEAD, ENSEMBLE = "intent@1", "intent@3", "intent@4"
CHANNELS = ("chat", "voice", "email")
BEGIN, END = "<!-- intent_compare:begin -->", "<!-- intent_compare:end -->"


@dataclass(frozen=True)
class Turns:
    """Texts with their expected labels (and channels, for the evaluation set) and embeddings."""

    texts: list[str]
    expected: list[str]
    channels: list[str]
    x: np.ndarray


@dataclass(frozen=True)
class Candidate:
    """One way of serving intent: its probabilities as served and before calibration, on both sets."""

    name: str
    served: dict[str, np.ndarray]
    uncalibrated: dict[str, np.ndarray]


def load_turns(embedder_paths: dict[str, Path]) -> dict[str, Turns]:
    """The held-out test families of the generated data and the evaluation set's customer turns, embedded."""
    records, _ = load_dataset("intent")
    held = [r for r in records if r["split"] == "heldout" and not is_calibration(r["family"])]
    rows = [
        (mask_pii(t.text).masked_text, str(t.expect.intent), conv.channel)
        for conv in load_conversations()
        for t in conv.turns
        if t.speaker == "customer"
    ]
    out = {}
    for name, texts, expected, channels in (
        ("heldout", [r["text"] for r in held], [r["label"] for r in held], [""] * len(held)),
        ("eval", [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
    ):
        out[name] = Turns(texts, expected, channels, embed_texts(embedder_paths, texts))
    return out


def candidates(models_dir: Path, turns: dict[str, Turns]) -> tuple[list[str], list[Candidate]]:
    """The labels and TF-IDF as served, TF-IDF calibrated, the head and the ensemble, on both sets."""
    regs = default_registries(models_dir)
    manifests = {ref: resolve(models_dir, ModelRef.parse(ref), regs) for ref in (TEXT, HEAD, ENSEMBLE)}
    labels = manifests[ENSEMBLE][0]["labels"]
    ens_cal, head_cal = manifests[ENSEMBLE][0]["calibration"], manifests[HEAD][0]["calibration"]
    w = manifests[ENSEMBLE][0]["params"]["text_weight"]
    raw: dict[str, dict[str, np.ndarray]] = {ref: {} for ref in manifests}
    for ref, (_, paths) in manifests.items():
        session = open_session(paths["model"])
        names = {i.name for i in session.get_inputs()}
        for set_name, t in turns.items():
            feed = {"text": np.array(t.texts, dtype=object).reshape(-1, 1), "embedding": t.x}
            raw[ref][set_name] = session.run(["probabilities"], {k: v for k, v in feed.items() if k in names})[0]
    p1, p3, p4 = raw[TEXT], raw[HEAD], raw[ENSEMBLE]
    head_raw = {s: softmax(log_probs(p) * head_cal["temperature"]) for s, p in p3.items()}
    text_cal = {s: softmax(log_probs(p) / ens_cal["text_temperature"]) for s, p in p1.items()}
    return labels, [
        Candidate(f"TF-IDF {TEXT} (served until now, uncalibrated)", p1, p1),
        Candidate(f"TF-IDF {TEXT}, calibrated (T={ens_cal['text_temperature']})", text_cal, p1),
        Candidate(f"MiniLM head {HEAD} (T={head_cal['temperature']})", p3, head_raw),
        Candidate(
            f"ensemble {ENSEMBLE} (T_mix={ens_cal['mix_temperature']})",
            p4,
            {s: w * p1[s] + (1 - w) * head_raw[s] for s in p1},
        ),
    ]


def quality_row(c: Candidate, labels: Sequence[str], turns: dict[str, Turns], floor: float) -> list[str]:
    """One table row: held-out accuracy and ECE, evaluation accuracy by channel, high-risk recall, eval ECE."""
    index = {label: i for i, label in enumerate(labels)}
    cells = []
    for set_name in ("heldout", "eval"):
        t, p = turns[set_name], c.served[set_name]
        conf, best = p.max(axis=1), p.argmax(axis=1)
        said = np.where(conf >= floor, np.array(labels)[best], UNCLEAR)
        ok = said == np.array(t.expected)
        known = np.array([e in index for e in t.expected])
        y = np.array([index.get(e, -1) for e in t.expected])
        cal = f"{ece(c.uncalibrated[set_name][known], y[known]):.3f} -> {ece(p[known], y[known]):.3f}"
        if set_name == "heldout":
            cells += [f"{(best == y).mean():.3f}", cal]
            continue
        cells.append(f"{ok.mean():.3f}")
        cells += [f"{ok[np.array(t.channels) == ch].mean():.3f}" for ch in CHANNELS]
        for intent in HIGH_RISK:
            m = np.array(t.expected) == intent
            cells.append(f"{int(ok[m].sum())}/{int(m.sum())}")
        cells.append(cal)
    return [c.name, *cells]


def latency(models_dir: Path, turns: Turns, repeat: int) -> dict[str, dict[str, dict[str, float]]]:
    """Per intent model and channel: the fast tier's customer-turn latency (intent + sentiment), one thread."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for ref in (TEXT, HEAD, ENSEMBLE):
        fast = FastScorer.load(models_dir, ScorerRefs(intent=ref, shadow_intent=None))
        for text, channel in zip(turns.texts[:20], turns.channels, strict=False):  # warm-up
            fast.score(text, "customer", channel)
        samples: dict[str, list[float]] = {ch: [] for ch in CHANNELS}
        for _ in range(repeat):
            for text, channel in zip(turns.texts, turns.channels, strict=True):
                t0 = time.perf_counter()
                fast.score(text, "customer", channel)
                samples[channel].append((time.perf_counter() - t0) * 1e3)
        out[ref] = {ch: percentiles(v) for ch, v in samples.items()}
    return out


def markdown(labels: Sequence[str], cands: list[Candidate], turns: dict[str, Turns], args: argparse.Namespace) -> str:
    """The measured tables, with how and where they were measured."""
    load_before = os.getloadavg()
    lat = latency(args.models_dir, turns["eval"], args.repeat)
    budgets = load_settings().budgets
    n_eval = {ch: turns["eval"].channels.count(ch) for ch in CHANNELS}
    risky = " | ".join(HIGH_RISK)
    out = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} CPUs ({platform.machine()}), load average "
        f"{[round(x, 2) for x in load_before]} before / {[round(x, 2) for x in os.getloadavg()]} after the latency "
        f"runs, by `.venv/bin/python -m models.intent_compare --write-report models/REPORT.md`.",
        "",
        f"(a) generated held-out: {len(turns['heldout'].texts)} turns, every variant of the held-out families not used "
        f"for calibration. (b) evaluation set: {len(turns['eval'].texts)} customer turns "
        f"(chat {n_eval['chat']}, voice {n_eval['voice']}, email {n_eval['email']}), each alone, PII-masked; "
        f"below the floor {args.floor} a prediction counts as `unclear`. ECE: 15 bins, top label, before -> after "
        "calibration (turns expected `unclear` left out).",
        "",
        f"| model | (a) accuracy | (a) ECE | (b) accuracy | chat | voice | email | {risky} | (b) ECE |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(quality_row(c, labels, turns, args.floor)) + " |" for c in cands]
    out += [
        "",
        f"Fast-tier customer turn (intent + sentiment; the embedding included) on the evaluation turns x{args.repeat}, "
        "ms, p50 / p99, against the channel budget (`CUECARD_CHANNEL_BUDGET_MS`):",
        "",
        "| intent model | " + " | ".join(f"{ch} (budget {budgets.get(ch, 0):g})" for ch in CHANNELS) + " |",
        "|---|---|---|---|",
    ]
    for ref, by_channel in lat.items():
        cells = [f"{by_channel[ch]['p50_ms']:.2f} / {by_channel[ch]['p99_ms']:.2f}" for ch in CHANNELS]
        out.append(f"| {ref} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_section(path: Path, body: str) -> None:
    """Replace what stands between the markers in `path` (which must have them) with `body`."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"models.intent_compare: error: {path} has no {BEGIN} ... {END} markers to write between")
    head, rest = text.split(BEGIN, 1)
    path.write_text(f"{head}{BEGIN}\n{body}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(
        prog="python -m models.intent_compare",
        description="Compare the served intent models (TF-IDF intent@1, MiniLM head intent@3, ensemble intent@4) "
        "on the generated held-out split and the hand-written evaluation set, and time the fast tier with each; "
        "prints a markdown table. Reads built artifacts only (run python -m models.build first).",
    )
    parser.add_argument("--models-dir", type=Path, default=load_settings().models_dir, help="default: %(default)s")
    parser.add_argument("--floor", type=float, default=0.5, help="confidence floor for `unclear` (default 0.5)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the evaluation turns for latency")
    parser.add_argument(
        "--write-report", type=Path, metavar="PATH", help=f"also write the tables between the {BEGIN} markers in PATH"
    )
    args = parser.parse_args(argv)
    try:
        regs = default_registries(args.models_dir)
        manifest, _ = resolve(args.models_dir, ModelRef.parse(ENSEMBLE), regs)
        _, embedder = resolve(args.models_dir, ModelRef.parse(manifest["embedder"]), regs)
        turns = load_turns(embedder)
        labels, cands = candidates(args.models_dir, turns)
    except ModelError as err:
        raise SystemExit(f"models.intent_compare: error: {err}") from None
    body = markdown(labels, cands, turns, args)
    print(body)
    if args.write_report:
        write_section(args.write_report, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
