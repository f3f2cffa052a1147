"""Evaluate PII masking on the hand-written set in `models/eval/pii/` (see its README).

    python -m models.eval.pii_eval [--repeat N] [--json]

Prints a markdown table of span-level recall and precision per PII type, and the masking time per
turn (p50/p99 over every turn of the set, each masked `--repeat` times).

Matching rule (overlap-based): a labelled span is found when a predicted span of the same type
overlaps it by at least one character; a predicted span is correct when it overlaps a labelled span
of the same type. Every predicted span on a PII-free look-alike is a false positive. "Covered"
counts labelled spans whose every letter and digit lies inside some mask (of any type): nothing of
the value leaks, even where the match is partial.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from udfs.pii import PiiSpan, find_pii, mask_pii

EVAL_DIR = Path(__file__).resolve().parent / "pii"
HOLDOUT = EVAL_DIR / "holdout.jsonl"
TYPES = ("CARD", "CVV", "SSN", "IBAN", "DOB", "ADDRESS", "NAME", "EMAIL", "PHONE", "SECRET")
RECALL_TARGETS = {"CARD": 0.99, "CVV": 0.99, "SSN": 0.99, "IBAN": 0.99, "DOB": 0.99, "ADDRESS": 0.95, "NAME": 0.95}
PRECISION_TARGET = 0.95


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled span of an evaluation record."""

    start: int
    end: int
    pii_type: str


@dataclass(frozen=True, slots=True)
class Record:
    """One evaluation turn: its text, labelled spans and the type the agent had just asked for."""

    record_id: str
    style: str
    text: str
    spans: tuple[Labelled, ...]
    asked: str | None


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Span counts of one PII type."""

    labelled: int
    found: int
    covered: int
    predicted: int
    correct: int

    @property
    def recall(self) -> float:
        """Share of labelled spans found (1.0 when there are none)."""
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        """Share of predicted spans that are correct (1.0 when there are none)."""
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass(frozen=True, slots=True)
class Report:
    """Scores per type, the misses for inspection, and the masking time per turn."""

    scores: dict[str, TypeScore]
    records: int
    lookalikes: int
    misses: tuple[str, ...]
    false_positives: tuple[str, ...]
    p50_ms: float
    p99_ms: float


def load(paths: Iterable[Path] | None = None) -> list[Record]:
    """Read the evaluation records, checking every span against its optional `value`."""
    records = []
    for path in sorted(paths or EVAL_DIR.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            spans = []
            for s in raw.get("spans", ()):
                if "value" in s and raw["text"][s["start"] : s["end"]] != s["value"]:
                    raise ValueError(f"{path.name}:{n}: span {s} does not match the text")
                spans.append(Labelled(s["start"], s["end"], s["type"]))
            records.append(Record(raw["id"], raw["style"], raw["text"], tuple(spans), raw.get("asked")))
    return records


def evaluate(records: Sequence[Record], *, repeat: int = 20) -> Report:
    """Score `find_pii` on the records and time `mask_pii` per turn."""
    counts = {t: [0, 0, 0, 0, 0] for t in TYPES}  # labelled, found, covered, predicted, correct
    misses: list[str] = []
    false_positives: list[str] = []
    for rec in records:
        predicted = find_pii(rec.text, expected=rec.asked)
        for gold in rec.spans:
            c = counts[gold.pii_type]
            c[0] += 1
            if any(p.pii_type == gold.pii_type and _overlap(p.start, p.end, gold.start, gold.end) for p in predicted):
                c[1] += 1
            else:
                misses.append(f"{rec.record_id} {gold.pii_type} {rec.text[gold.start : gold.end]!r}")
            if _covered(rec.text, gold, predicted):
                c[2] += 1
        for p in predicted:
            c = counts.setdefault(p.pii_type, [0, 0, 0, 0, 0])
            c[3] += 1
            if any(g.pii_type == p.pii_type and _overlap(p.start, p.end, g.start, g.end) for g in rec.spans):
                c[4] += 1
            else:
                false_positives.append(f"{rec.record_id} {p.pii_type} {rec.text[p.start : p.end]!r}")
    p50, p99 = _timing(records, repeat)
    return Report(
        {t: TypeScore(*c) for t, c in counts.items() if c[0] or c[3]},
        len(records),
        sum(1 for r in records if not r.spans),
        tuple(misses),
        tuple(false_positives),
        p50,
        p99,
    )


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def _covered(text: str, gold: Labelled, predicted: Sequence[PiiSpan]) -> bool:
    masked = [False] * len(text)
    for p in predicted:
        for i in range(p.start, p.end):
            masked[i] = True
    return all(masked[i] for i in range(gold.start, gold.end) if text[i].isalnum())


def _timing(records: Sequence[Record], repeat: int) -> tuple[float, float]:
    per_turn: list[float] = []
    for _ in range(max(1, repeat)):
        for rec in records:
            t0 = time.perf_counter()
            mask_pii(rec.text, expected=rec.asked)
            per_turn.append((time.perf_counter() - t0) * 1000.0)
    per_turn.sort()
    return statistics.median(per_turn), per_turn[min(len(per_turn) - 1, int(len(per_turn) * 0.99))]


def markdown(report: Report) -> str:
    """The report as a markdown table plus a timing line."""
    lines = [
        "| type | labelled | found | recall | covered | predicted | precision | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t, s in report.scores.items():
        target = f"recall >= {RECALL_TARGETS[t]:.2f}, " if t in RECALL_TARGETS else ""
        lines.append(
            f"| {t} | {s.labelled} | {s.found} | {s.recall:.3f} | {s.covered} | {s.predicted} | {s.precision:.3f} "
            f"| {target}precision >= {PRECISION_TARGET:.2f} |"
        )
    total = TypeScore(*(sum(getattr(s, f) for s in report.scores.values()) for f in TypeScore.__slots__))
    lines.append(
        f"| all | {total.labelled} | {total.found} | {total.recall:.3f} | {total.covered} | {total.predicted} "
        f"| {total.precision:.3f} | |"
    )
    lines.append("")
    lines.append(
        f"{report.records} turns ({report.lookalikes} PII-free look-alikes); masking time per turn: "
        f"p50 {report.p50_ms:.3f} ms, p99 {report.p99_ms:.3f} ms."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation and print the table (and, with --verbose, every miss and false positive)."""
    parser = argparse.ArgumentParser(prog="python -m models.eval.pii_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="times each turn is masked for timing")
    parser.add_argument("--verbose", action="store_true", help="list misses and false positives")
    args = parser.parse_args(argv)
    report = evaluate(load(), repeat=args.repeat)
    print("All records (development set + held-out set):\n")
    print(markdown(report))
    print(f"\nHeld-out set only ({HOLDOUT.name}: written after the masker, never tuned on before its first run):\n")
    print(markdown(evaluate(load([HOLDOUT]), repeat=args.repeat)))
    if args.verbose:
        print("\nmisses:", *report.misses, sep="\n  ")
        print("\nfalse positives:", *report.false_positives, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
