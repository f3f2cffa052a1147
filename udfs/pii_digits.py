"""Numbers: cards, security codes, SSNs, IBANs and phone numbers, typed or spoken, and their checksums.

Digit runs - digits and digit words ("four one one one", "double two") joined by spaces, dashes, dots
or commas - are read on the text with the spans other detectors claimed blanked out, and each run is
classified by its digit count, grouping, checksum and the words just before it (or by the type the
agent just asked for). Over-masking is preferred to leaking: a 13-19 digit run in card context is
masked even when its Luhn check fails.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from udfs.pii_common import DIGIT_WORD, DIGIT_WORDS, Claim

_CONTEXT_CHARS = 40  # how far before a number its context words are looked for

_IBAN_GROUPED = re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b", re.I)
_IBAN_PLAIN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", re.I)
_SPOKEN_ALNUM = rf"(?:(?:double|triple)[ \t]+)?(?:{DIGIT_WORD}|\d+|[a-z])\b"
_SPOKEN_IBAN = re.compile(rf"\b[a-z][ \t]+[a-z](?:[ \t]+{_SPOKEN_ALNUM}){{13,40}}", re.I)
_SPOKEN_ALNUM_TOKEN = re.compile(rf"(?:(?P<mult>double|triple)[ \t]+)?(?P<tok>{DIGIT_WORD}|\d+|[a-z])\b", re.I)

_TOKEN = rf"(?:(?:double|triple)[ \t]+)?(?:\d+|{DIGIT_WORD})\b"
_SEP = r"(?:[ \t]*[-./][ \t]*|[ \t]*,[ \t]*|[ \t]+)"
_RUN = re.compile(rf"(?<![\w\[])(?:\+[ \t]?)?\(?{_TOKEN}\)?(?:{_SEP}\(?{_TOKEN}\)?)*", re.I)
_RUN_TOKEN = re.compile(rf"(?:(?P<mult>double|triple)[ \t]+)?(?P<tok>\d+|{DIGIT_WORD})\b", re.I)

_CVV_CUE = re.compile(
    r"\b(?:cvv2?|cvc2?|cv2|csc|security\s+(?:code|number)|verification\s+(?:code|number|value)"
    r"|(?:three|four|3|4)[ -]digits?(?:\s+(?:code|number))?(?:\s+on\s+the\s+back)?"
    r"|(?:code|number)\s+on\s+the\s+back)\b",
    re.I,
)
_SSN_CUE = re.compile(r"\b(?:ssn|social\s+security(?:\s+(?:number|no))?|social\s+insurance|social)\b", re.I)
_CARD_CUE = re.compile(r"\b(?:card|visa|mastercard|master\s+card|amex|american\s+express|debit|credit|pan)\b", re.I)
_PHONE_CUE = re.compile(
    r"\b(?:phone|mobile|cell|telephone|tel|call\s+me|call\s+back|ring\s+me|reach\s+me|text\s+me|contact\s+number"
    r"|landline|whatsapp|(?:my|the|your|our|a)\s+number\s+is|on\s+this\s+number|call)\b",
    re.I,
)
# Numbers after these words identify things, not people: they keep their digits (unless Luhn-valid cards).
_IDENTIFIER_CUE = re.compile(
    r"\b(?:order|invoice|tracking|reference|ref|case|ticket|confirmation|account|policy|item|model|serial|sku"
    r"|part|product|parcel|package|shipment|consignment|batch|loyalty|membership|member|voucher|store|flight|version|error|room|booking|claim|rma|code)\b",
    re.I,
)


_CARD_FIRST_DIGITS = "23456"  # issuer ranges: Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    digits: str
    spoken: bool


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum of card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """Whether a string (spaces allowed) is an IBAN with a valid mod-97 checksum."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _ssn_plausible(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def claim_ibans(text: str, lower: str, claim: Claim, *, expected: bool) -> None:
    """Claim IBANs: grouped or plain (mod-97 checked), and spelled out ("g b eight two w e s t ...")."""
    for pattern in (_IBAN_GROUPED, _IBAN_PLAIN):
        for m in pattern.finditer(text):
            candidate = m.group()
            # A grouped match may run into a following word or group: shorten it group by group.
            while candidate and not iban_valid(candidate):
                candidate = candidate.rpartition(" ")[0] if " " in candidate else ""
            if candidate:
                claim(m.start(), m.start() + len(candidate), "IBAN", "[IBAN]")
    if expected or "iban" in lower:
        for m in _SPOKEN_IBAN.finditer(text):
            tokens = [(t, _spoken_chars(t)) for t in _SPOKEN_ALNUM_TOKEN.finditer(m.group())]
            for n in range(len(tokens), 1, -1):
                if iban_valid("".join(chars for _, chars in tokens[:n])):
                    claim(m.start(), m.start() + tokens[n - 1][0].end(), "IBAN", "[IBAN]")
                    break


def _spoken_chars(t: re.Match[str]) -> str:
    tok = t.group("tok").lower()
    chars = DIGIT_WORDS.get(tok, tok)
    mult = t.group("mult")
    return chars * (2 if mult.lower() == "double" else 3) if mult else chars


def claim_digit_runs(
    text: str, lower: str, taken: list[tuple[int, int]], claim: Claim, expected: Collection[str] = ()
) -> None:
    """Classify every digit run outside the `taken` spans and claim the PII ones."""
    blanked = text
    if taken:
        chars = list(text)
        for start, end in taken:
            chars[start:end] = "\x00" * (end - start)
        blanked = "".join(chars)
    for run in _RUN.finditer(blanked):
        tokens = _tokens(run)
        if not tokens:
            continue
        for start, end, pii_type, token in _classify_run(text, lower, run.start(), tokens, expected):
            claim(start, end, pii_type, token)


def _tokens(run: re.Match[str]) -> list[_Token]:
    tokens = []
    for m in _RUN_TOKEN.finditer(run.group()):
        word = m.group("tok").lower()
        digits = DIGIT_WORDS.get(word, word)
        mult = m.group("mult")
        if mult:
            digits *= 2 if mult.lower() == "double" else 3
        tokens.append(_Token(run.start() + m.start(), run.start() + m.end(), digits, word in DIGIT_WORDS))
    return tokens


def _cue_before(pattern: re.Pattern[str], lower: str, start: int) -> int:
    """Position of the last cue word ending before `start` (within the window), or -1."""
    best = -1
    for m in pattern.finditer(lower, max(0, start - _CONTEXT_CHARS), start):
        best = m.start()
    return best


def _classify_run(
    text: str, lower: str, run_start: int, tokens: list[_Token], expected: Collection[str]
) -> list[tuple[int, int, str, str]]:
    found: list[tuple[int, int, str, str]] = []
    digits = "".join(t.digits for t in tokens)
    start = run_start  # includes a leading "+" or "("
    # "card" counts only if no identifier word ("order number") sits between it and the digits.
    card_cue = "CARD" in expected or _cue_before(_CARD_CUE, lower, start) > _cue_before(_IDENTIFIER_CUE, lower, start)
    # Cards first, also inside a longer run ("4111 1111 1111 1111 12 27"): take the longest Luhn-valid window.
    i = 0
    rest: list[list[_Token]] = [[]]
    while i < len(tokens):
        j = _card_window(tokens, i, cued_whole=card_cue and len(digits) <= 19)
        if j is None:
            rest[-1].append(tokens[i])
            i += 1
            continue
        window = "".join(t.digits for t in tokens[i : j + 1])
        found.append((tokens[i].start, tokens[j].end, "CARD", f"[CARD_LAST4:{window[-4:]}]"))
        rest.append([])
        i = j + 1
    for segment in rest:
        if segment:
            seg_start = start if segment[0] is tokens[0] else segment[0].start
            hit = _classify_other(text, lower, seg_start, segment, expected)
            if hit:
                found.append(hit)
    return found


def _card_window(tokens: list[_Token], i: int, *, cued_whole: bool) -> int | None:
    total = 0
    best = None
    for j in range(i, len(tokens)):
        total += len(tokens[j].digits)
        if total > 19:
            break
        if total >= 13:
            window = "".join(t.digits for t in tokens[i : j + 1])
            whole = cued_whole and i == 0 and j == len(tokens) - 1
            if whole or (window[0] in _CARD_FIRST_DIGITS and luhn_valid(window)):
                best = j
    return best


def _classify_other(
    text: str, lower: str, start: int, tokens: list[_Token], expected: Collection[str]
) -> tuple[int, int, str, str] | None:
    end = tokens[-1].end
    digits = "".join(t.digits for t in tokens)
    n = len(digits)
    spoken = any(t.spoken for t in tokens)
    groups = [len(t.digits) for t in tokens]
    raw = text[start:end]
    if 3 <= n <= 4 and ("CVV" in expected or _cue_before(_CVV_CUE, lower, start) >= 0):
        return (start, end, "CVV", "[CVV]")
    if "DOB" in expected and 4 <= n <= 8:
        return (start, end, "DOB", "[DOB]")
    if n == 9 or ("SSN" in expected and n == 4):
        cued = "SSN" in expected or _cue_before(_SSN_CUE, lower, start) >= 0
        formatted = groups == [3, 2, 4] and not spoken
        if (formatted or cued) and (_ssn_plausible(digits) or n == 4 or "SSN" in expected):
            return (start, end, "SSN", "[SSN]")
    if n < 7 or n > 15:
        return None
    phone_cue = _cue_before(_PHONE_CUE, lower, start)
    if "PHONE" in expected:
        return (start, end, "PHONE", "[PHONE]")
    if _cue_before(_IDENTIFIER_CUE, lower, start) > phone_cue:
        return None
    international = raw.startswith("+") and 8 <= n <= 15
    formatted = len(groups) >= 2 and max(groups) <= 6 and 10 <= n <= 12 and not spoken
    if international or formatted or phone_cue >= 0 or (spoken and n >= 7) or raw.startswith("("):
        return (start, end, "PHONE", "[PHONE]")
    return None
