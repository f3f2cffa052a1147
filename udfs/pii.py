"""PII masking of free text: typed tokens replace every value, so nothing downstream ever sees it.

Detected: card numbers (Luhn-checked; spaced, dashed or spoken as words), CVV in context, SSN, IBAN
(mod-97 checked, also spelled out), e-mail (also spoken "name at host dot com"), phone numbers
(formatted, international, in context, or spoken), dates of birth (every written and spoken form,
when a cue or the agent's question says it is one), whole street addresses (US and UK, typed or
spoken; one token), names after a cue, a title or in a signature, and secrets (passwords, PINs,
memorable words). Masks never contain the value, except a card's last four digits
(`[CARD_LAST4:1111]`), which card receipts show too.

Context-aware: `expected` is the PII type the agent has just asked for (`asked_for` on the agent's
turn, see `udfs/pii_context.py`); the answer is then masked for that type even where the pattern
alone is weak.

Design: detectors claim spans in priority order (existing masks, an expected secret, e-mail, IBAN,
date of birth, address, secret, name); then digit runs are read on the text with those spans blanked
out (`udfs/pii_digits.py`). Phrase tables live in `udfs/pii_data/`. Over-masking is preferred to
leaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from udfs.pii_address import find_addresses
from udfs.pii_context import SECRET_TYPES, answer_span, answer_start, asked_for, expected_types, secret_spans
from udfs.pii_dates import find_dobs
from udfs.pii_digits import claim_digit_runs, claim_ibans, iban_valid, luhn_valid
from udfs.pii_names import find_names, is_common_word, name_at

__all__ = ["PII_TYPES", "MaskResult", "PiiSpan", "asked_for", "find_pii", "iban_valid", "luhn_valid", "mask_pii"]

PII_TYPES = ("CARD", "CVV", "SSN", "IBAN", "EMAIL", "PHONE", "DOB", "ADDRESS", "NAME", "SECRET")
_TOKENS = {t: f"[{t}]" for t in PII_TYPES}


@dataclass(frozen=True, slots=True)
class MaskResult:
    """Masked text, the sorted distinct PII types found, and how many spans were masked."""

    masked_text: str
    pii_types: tuple[str, ...]
    spans_count: int


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One detected PII value: its character span in the original text, its type and its mask."""

    start: int
    end: int
    pii_type: str
    token: str


_EXISTING_MASK = re.compile(r"\[(?:CARD_LAST4:\d{4}|EMAIL|PHONE|SSN|IBAN|CVV|DOB|ADDRESS|NAME|SECRET)\]")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_TLD = r"(?:com|net|org|io|co|uk|us|de|fr|edu|gov|info|biz|me|dev|ai|app)"
_SPOKEN_EMAIL_HOST = re.compile(rf"\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+{_TLD}\b", re.I)
_LOCAL_WORD = re.compile(r"(?:^|(?<=\s))[a-z0-9][a-z0-9._-]*$", re.I)
_CONNECTORS = frozenset({"dot", "underscore", "dash", "hyphen"})
_NUMBER_WORDS = frozenset(
    "zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    " seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred double".split()
)
_HAS_DIGIT = re.compile(r"\d").search


def mask_pii(text: str, *, expected: str | None = None) -> MaskResult:
    """Replace every PII value in `text` with a typed token; pure and deterministic.

    `expected`: the PII type the agent has just asked for ("DOB", "ADDRESS", "CARD", "CVV", "SSN",
    "PHONE", "NAME", "PASSWORD", "MEMORABLE_WORD", "PIN", or several joined by "+"), as `asked_for`
    returns it; the text is then masked for that type even where the pattern alone is weak.
    """
    spans = find_pii(text, expected=expected)
    if not spans:
        return MaskResult(text, (), 0)
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor : span.start])
        parts.append(span.token)
        cursor = span.end
    parts.append(text[cursor:])
    return MaskResult("".join(parts), tuple(sorted({s.pii_type for s in spans})), len(spans))


def find_pii(text: str, *, expected: str | None = None) -> list[PiiSpan]:
    """The PII spans of `text` (sorted, non-overlapping), as `mask_pii` replaces them."""
    spans: list[PiiSpan] = []
    taken: list[tuple[int, int]] = []

    def claim(start: int, end: int, pii_type: str, token: str) -> None:
        while end > start and text[end - 1] in " \t,.":
            end -= 1
        if end <= start or any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        spans.append(PiiSpan(start, end, pii_type, token))

    for m in _EXISTING_MASK.finditer(text):
        taken.append((m.start(), m.end()))
    wanted = expected_types(expected)
    # Cheap substring checks skip detectors that cannot match (most turns have no PII at all).
    lower = text.lower()
    if wanted & SECRET_TYPES:
        answer = answer_span(text)
        if answer:
            claim(*answer, "SECRET", "[SECRET]")
    if "@" in text:
        for m in _EMAIL.finditer(text):
            claim(m.start(), m.end(), "EMAIL", "[EMAIL]")
    if " at " in lower and " dot " in lower:
        for m in _SPOKEN_EMAIL_HOST.finditer(text):
            start = _spoken_local_part(text, m.start())
            if start < m.start():
                claim(start, m.end(), "EMAIL", "[EMAIL]")
    has_digit = _HAS_DIGIT(text) is not None
    if has_digit or "iban" in lower or "IBAN" in wanted:
        claim_ibans(text, lower, claim, expected="IBAN" in wanted)
    for start, end in find_dobs(text, lower, expected="DOB" in wanted):
        claim(start, end, "DOB", "[DOB]")
    for start, end in find_addresses(text, expected="ADDRESS" in wanted):
        claim(start, end, "ADDRESS", "[ADDRESS]")
    if "pass" in lower or "pin" in lower or "memorable" in lower or "secret" in lower or "answer" in lower:
        for start, end in secret_spans(text):
            claim(start, end, "SECRET", "[SECRET]")
    for start, end in find_names(text, lower):
        claim(start, end, "NAME", "[NAME]")
    if "NAME" in wanted:
        pos = answer_start(text)
        stop = min((s for s, _ in taken if s >= pos), default=len(text))
        span = name_at(text[:stop], pos)
        if span:
            claim(*span, "NAME", "[NAME]")
    claim_digit_runs(text, lower, taken, claim, wanted)
    spans.sort(key=lambda s: s.start)
    return spans


def _spoken_local_part(text: str, end: int) -> int:
    """Start of a spoken e-mail's local part ending at `end` ("pat lee ninety nine", "mo dot canary")."""
    start = end
    joined = False  # the word just taken hangs on a connector ("dot canary")
    for _ in range(8):
        m = _LOCAL_WORD.search(text, 0, start)
        if m is None:
            break
        word = m.group().lower()
        if not (joined or word in _CONNECTORS or word in _NUMBER_WORDS or not is_common_word(word)):
            break
        if word in _CONNECTORS and start == end:
            break
        joined = word in _CONNECTORS
        start = m.start()
        while start > 0 and text[start - 1] in " \t":
            start -= 1
    while start < end and text[start] in " \t":
        start += 1
    return start
