"""Deterministic generator of cuecard's training data (`python -m models.datagen`).

The phrasings live in `models/phrases/` (see models/README.md): each label has sub-topics, each sub-topic
several phrasings; a phrasing *family* is one phrasing with all the variants generated from it. The held-out
split takes whole families (one in four, chosen by a hash of the phrasing), so evaluation never sees a
near-duplicate of a training sentence. Surface noise (voice-transcript style, fillers, numbers as words, typos,
context sentences, a second intent) is applied with a fixed seed, so the output is byte-stable.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SEED = 20261125
DATA_DIR = Path(__file__).resolve().parent / "data"
PHRASES_DIR = Path(__file__).resolve().parent / "phrases"
SAMPLES_PER_TEMPLATE = {"intent": 8, "sentiment": 6, "compliance": 8}
HELDOUT_EVERY = 4  # about one phrasing family in four (all its generated variants) is held out
TURN_TABLES = (
    "slots", "lexicon", "greetings", "context_prefixes", "story_sentences", "second_request_joiners",
    "sign_offs", "fillers", "agent_openers",
)  # fmt: skip

Families = dict[str, list[list[str]]]


def _read(name: str) -> Any:
    path = PHRASES_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SystemExit(
            f"models.datagen: error: cannot read {path} ({err}); it is part of the repository, restore it from git"
        ) from err


def load_families(name: str) -> Families:
    """The phrasings of models/phrases/<name>.json: label -> sub-topics -> phrasings, slots in {braces}."""
    doc = _read(name)
    if not isinstance(doc, dict) or not all(
        isinstance(fams, list) and all(isinstance(f, list) and all(isinstance(t, str) for t in f) for f in fams)
        for fams in doc.values()
    ):
        raise SystemExit(
            f"models.datagen: error: {PHRASES_DIR / name}.json must map each label to a list of sub-topics, "
            "each a list of phrasings"
        )
    return doc


def load_turn_tables() -> dict[str, Any]:
    """The slot values, synonym groups and turn furniture of models/phrases/turns.json."""
    doc = _read("turns")
    missing = [k for k in TURN_TABLES if k not in doc] if isinstance(doc, dict) else list(TURN_TABLES)
    if missing:
        raise SystemExit(f"models.datagen: error: {PHRASES_DIR / 'turns.json'} lacks {', '.join(missing)}")
    return doc


INTENT_FAMILIES = load_families("intent")
SENTIMENT_FAMILIES = load_families("sentiment")
COMPLIANCE_FAMILIES = load_families("compliance")
NEUTRAL_BODY_INTENTS = (
    "order_status",
    "update_details",
    "pricing_inquiry",
    "plan_change",
    "payment_arrangement",
    "account_access",
    "return_exchange",
    "greeting",
    "other",
)
_TURNS = load_turn_tables()
SLOTS: dict[str, list[str]] = _TURNS["slots"]
# Training phrasings (never held-out ones) get one group member swapped for another, the way a real
# corpus spreads one concept over many words.
LEXICON: list[list[str]] = _TURNS["lexicon"]
GREETINGS: list[str] = _TURNS["greetings"]
CONTEXT_PREFIXES: list[str] = _TURNS["context_prefixes"]
STORY_SENTENCES: list[str] = _TURNS["story_sentences"]
SECOND_REQUEST_JOINERS: list[str] = _TURNS["second_request_joiners"]
SIGN_OFFS: list[str] = _TURNS["sign_offs"]
FILLERS: list[str] = _TURNS["fillers"]
AGENT_OPENERS: list[str] = _TURNS["agent_openers"]
_LEXICON_RES = [
    (re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(g, key=len, reverse=True)) + r")\b", re.I), g)
    for g in LEXICON
]


def paraphrase(text: str, rng: random.Random) -> str:
    """Swap one word or phrase for a synonym from LEXICON (leaves text without a match unchanged)."""
    hits = [(rx, group) for rx, group in _LEXICON_RES if rx.search(text)]
    if not hits:
        return text
    rx, group = rng.choice(hits)
    match = rx.search(text)
    assert match is not None
    options = [w for w in group if w.lower() != match.group(0).lower()]
    return text[: match.start()] + rng.choice(options) + text[match.end() :]


ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(n: int) -> str:
    """English words for 0 <= n < 10000, as a caller would say them."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_to_words(rest))
    rest = n % 1000
    return number_to_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_to_words(rest))


def _spoken_number(match: re.Match[str]) -> str:
    whole, _, cents = match.group(0).partition(".")
    words = number_to_words(int(whole))
    return f"{words} {number_to_words(int(cents))}" if cents else words


def fill(template: str, rng: random.Random) -> str:
    """Fill every {slot} with a random value."""
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(SLOTS[m.group(1)]), template)


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip (swap, drop or double a letter) in a random word longer than three letters."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w, j = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind == 1:
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def voice(text: str, rng: random.Random) -> str:
    """A speech-to-text transcript: lower case, no punctuation, numbers as words, fillers, repeats."""
    text = re.sub(r"\d+(?:\.\d+)?", _spoken_number, text.lower())
    words = re.sub(r"[^\w\s']", " ", text).split()
    out: list[str] = []
    for w in words:
        if rng.random() < 0.12:
            out.append(rng.choice(FILLERS))
        out.append(w)
        if rng.random() < 0.04:
            out.append(w)
    return " ".join(out)


def compose(body: str, rng: random.Random, second: str | None) -> str:
    """Wrap a sentence into a realistic turn: context, greeting, a second request, a sign-off."""
    parts = []
    if rng.random() < 0.15:
        parts.append(rng.choice(GREETINGS) + ",")
    if rng.random() < 0.3:
        parts.append(fill(rng.choice(CONTEXT_PREFIXES), rng))
    if rng.random() < 0.12:
        # Long, rambling turns: the request sits between unrelated sentences.
        parts.extend(rng.sample(STORY_SENTENCES, 2))
    parts.append(body[0].upper() + body[1:] + rng.choice((".", "", "!", "?", ".")))
    if rng.random() < 0.08:
        parts.append(rng.choice(STORY_SENTENCES))
    if second is not None:
        parts.append(rng.choice(SECOND_REQUEST_JOINERS) + " " + second + ".")
    if rng.random() < 0.2:
        parts.append(rng.choice(SIGN_OFFS).capitalize() + ".")
    return " ".join(parts)


def style(text: str, rng: random.Random) -> str:
    """Pick a channel style and add noise: voice transcript, casual chat, or as written."""
    r = rng.random()
    if r < 0.35:
        text = voice(text, rng)
    elif r < 0.6:
        text = text.lower().replace(".", "")
    if rng.random() < 0.3:
        text = typo(text, rng)
    if rng.random() < 0.1:
        text = typo(text, rng)
    return re.sub(r"\s+", " ", text).strip()


Record = dict[str, str | int]


def _split(template: str) -> str:
    """Held-out or train for a whole phrasing family, by a hash of its text (not its position in a list)."""
    digest = hashlib.sha256(template.encode("utf-8")).digest()
    return "heldout" if digest[0] % HELDOUT_EVERY == 0 else "train"


def _by_split(templates: list[str]) -> dict[str, list[str]]:
    """Templates grouped by their split, so text mixed into a turn never crosses the split."""
    pools: dict[str, list[str]] = {"train": [], "heldout": []}
    for t in templates:
        pools[_split(t)].append(t)
    return pools


def _expand(
    families: Families,
    rng: random.Random,
    make: Callable[[str, str, random.Random, str], str],
    samples: int,
) -> list[Record]:
    records: list[Record] = []
    for label, fams in families.items():
        for fi, fam in enumerate(fams):
            for ti, template in enumerate(fam):
                split = _split(template)
                for _ in range(samples):
                    body = fill(template, rng)
                    if split == "train":
                        for _ in range(rng.choice((0, 1, 1, 2))):
                            body = paraphrase(body, rng)
                    text = make(label, body, rng, split)
                    records.append({"text": text, "label": label, "family": f"{label}/{fi}.{ti}", "split": split})
    return records


def intent_records(rng: random.Random) -> list[Record]:
    """Customer turns labelled with their primary intent; some carry a second, minor request."""
    secondaries = _by_split(
        [t for name in ("update_details", "order_status", "pricing_inquiry") for f in INTENT_FAMILIES[name] for t in f]
    )

    def make(label: str, body: str, r: random.Random, split: str) -> str:
        second = None
        # A greeting/closing/other turn with a real request attached is that request, not small talk.
        if label not in ("greeting", "closing", "other") and r.random() < 0.12:
            second = fill(r.choice(secondaries[split]), r)
        return style(compose(body, r, second), r)

    return _expand(INTENT_FAMILIES, rng, make, SAMPLES_PER_TEMPLATE["intent"])


def sentiment_records(rng: random.Random) -> list[Record]:
    """Turns labelled negative / neutral / positive / escalating; neutral ones are plain requests."""
    bodies = _by_split([t for name in NEUTRAL_BODY_INTENTS for f in INTENT_FAMILIES[name] for t in f])

    def make(label: str, phrase: str, r: random.Random, split: str) -> str:
        if r.random() < 0.6:
            body = fill(r.choice(bodies[split]), r)
            phrase = f"{phrase}. {body}" if r.random() < 0.5 else f"{body}. {phrase}"
        return style(compose(phrase, r, None), r)

    records = _expand(SENTIMENT_FAMILIES, rng, make, SAMPLES_PER_TEMPLATE["sentiment"])
    for name in NEUTRAL_BODY_INTENTS:
        for fi, fam in enumerate(INTENT_FAMILIES[name]):
            for ti, template in enumerate(fam):
                for _ in range(2):
                    text = style(compose(fill(template, rng), rng, None), rng)
                    records.append(
                        {
                            "text": text,
                            "label": "neutral",
                            "family": f"neutral/{name}/{fi}.{ti}",
                            "split": _split(template),
                        }
                    )
    return records


def compliance_records(rng: random.Random) -> list[Record]:
    """Agent turns labelled ok / risk (promises, guarantees, skipped disclosures, rudeness, pressure)."""
    polite = _by_split([t for f in COMPLIANCE_FAMILIES["ok"][:2] for t in f])

    def make(label: str, body: str, r: random.Random, split: str) -> str:
        if r.random() < 0.3:
            body = f"{r.choice(AGENT_OPENERS)}, {body}"
        if r.random() < 0.25:
            # Risky words hidden in an otherwise polite, longer turn.
            extra = r.choice(polite[split])
            body = f"{extra}. {body}" if r.random() < 0.5 else f"{body}. {extra}"
        return style(body[0].upper() + body[1:] + ".", r)

    return _expand(COMPLIANCE_FAMILIES, rng, make, SAMPLES_PER_TEMPLATE["compliance"])


DATASETS: dict[str, Callable[[random.Random], list[Record]]] = {
    "intent": intent_records,
    "sentiment": sentiment_records,
    "compliance": compliance_records,
}


def generate(out_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Write every dataset as gzipped, sorted-key JSON lines; returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, builder in DATASETS.items():
        rng = random.Random(f"{SEED}:{name}")
        path = out_dir / f"{name}.jsonl.gz"
        lines = [json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for r in builder(rng)]
        # mtime=0 and no file name in the header: the compressed bytes depend on the content only.
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate models/data/*.jsonl.gz."""
    parser = argparse.ArgumentParser(prog="python -m models.datagen", description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    for name, path in generate(args.out_dir).items():
        content = gzip.decompress(path.read_bytes())
        digest = hashlib.sha256(content).hexdigest()[:12]
        n = content.count(b"\n")
        print(f"[datagen] {name}: {n} records -> {path} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
