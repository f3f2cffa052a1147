"""PII masking of free text: typed tokens replace every value, so nothing downstream ever sees it.

Detected: card numbers (Luhn-checked; spaced, dashed or spoken as words), CVV in context, SSN, IBAN
(mod-97 checked), e-mail (also spoken "name at host dot com"), phone numbers (formatted, international,
in context, or spoken), dates of birth in context, and street addresses. Masks never contain the value,
except a card's last four digits (`[CARD_LAST4:1111]`), which card receipts show too.

Design: regex detectors claim spans in priority order (existing masks, e-mail, IBAN, date of birth,
address); then digit runs - digits and digit words ("four one one one", "double two") joined by
spaces, dashes, dots or commas - are read on the text with those spans blanked out, and each run is
classified by its digit count, grouping, checksum and the words just before it. Over-masking is
preferred to leaking: a 13-19 digit run in card context is masked even when its Luhn check fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PII_TYPES = ("CARD", "CVV", "SSN", "IBAN", "EMAIL", "PHONE", "DOB", "ADDRESS")
_CONTEXT_CHARS = 40  # how far before a number its context words are looked for
_Claim = Callable[[int, int, str, str], None]


@dataclass(frozen=True, slots=True)
class MaskResult:
    """Masked text, the sorted distinct PII types found, and how many spans were masked."""

    masked_text: str
    pii_types: tuple[str, ...]
    spans_count: int


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    pii_type: str
    token: str


_EXISTING_MASK = re.compile(r"\[(?:CARD_LAST4:\d{4}|EMAIL|PHONE|SSN|IBAN|CVV|DOB|ADDRESS)\]")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_TLD = r"(?:com|net|org|io|co|uk|us|de|fr|edu|gov|info|biz|me)"
_SPOKEN_EMAIL = re.compile(
    rf"\b[a-z0-9][a-z0-9._-]*(?:\s+(?:dot|underscore|dash)\s+[a-z0-9_-]+)*\s+at\s+[a-z0-9-]+"
    rf"(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+{_TLD}\b",
    re.I,
)
_IBAN_GROUPED = re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b", re.I)
_IBAN_PLAIN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", re.I)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL_WORD = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth"
    r"|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
    r"|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirty[- ]first)"
)
_SPOKEN_YEAR = r"(?:nineteen|twenty|two thousand)(?:[- ](?:and[- ])?[a-z]+){0,2}"
_DATE = (
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+\d{{4}}"
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:the\s+)?{_ORDINAL_WORD}\s+of\s+{_MONTH},?\s+{_SPOKEN_YEAR})"
)
_DOB = re.compile(
    rf"\b(?:date\s+of\s+birth|d\.?o\.?b\.?|birth\s*date|birthday|born(?:\s+on)?)\b[\s:,-]*(?:is\s+|was\s+|it's\s+)?"
    rf"(?:on\s+)?(?P<date>{_DATE})",
    re.I,
)
_STREET_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Close|Way|Place|Pl|Terrace"
    r"|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Gardens|Grove|Row|Mews|Walk)"
)
_UNIT = r"(?:,?[ \t]+(?:Apt|Apartment|Unit|Flat|Suite)\.?[ \t]*[A-Za-z0-9-]+)?"
_POSTAL = r"(?:,?[ \t]*(?:[A-Z]{2}[ \t]+)?\d{5}(?:-\d{4})?\b)?(?:,?[ \t]*[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}\b)?"
_CITY = r"(?:,[ \t]*[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?)?"
# Capitalised street names anywhere; lower-case ones only after an address cue (chat is often lower-case).
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?(?:[ \t]+[A-Z][a-zA-Z'-]+){{1,3}}[ \t]+{_STREET_SUFFIX}\b\.?{_UNIT}{_CITY}{_POSTAL}"
)
_ADDRESS_CUED = re.compile(
    rf"\b(?:live[sd]?\s+(?:at|on)|address\s+is|address:|moved\s+to|ship(?:ped)?\s+(?:it\s+)?to|deliver(?:ed)?\s+"
    rf"(?:it\s+)?to|send\s+it\s+to|located\s+at)\s+(?P<addr>\d{{1,5}}[a-z]?(?:\s+[a-z'-]+){{1,4}}\s+"
    rf"{_STREET_SUFFIX}\b\.?{_UNIT}{_POSTAL})",
    re.I,
)
_HAS_DIGIT = re.compile(r"\d").search
_DOB_CUES = ("birth", "dob", "d.o.b", "born")
_ADDRESS_CUES = ("live", "address", "moved", "ship", "deliver", "send it", "located")
_POSTCODE_CUED = re.compile(
    r"\b(?:post\s?code|zip(?:\s?code)?)\b[\s:]*(?:is\s+)?(?P<code>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{5}(?:-\d{4})?)\b",
    re.I,
)

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "nought": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_WORD = "|".join(_DIGIT_WORDS)
_TOKEN = rf"(?:(?:double|triple)[ \t]+)?(?:\d+|{_WORD})\b"
_SEP = r"(?:[ \t]*[-./][ \t]*|[ \t]*,[ \t]*|[ \t]+)"
_RUN = re.compile(rf"(?<![\w\[])(?:\+[ \t]?)?\(?{_TOKEN}\)?(?:{_SEP}\(?{_TOKEN}\)?)*", re.I)
_RUN_TOKEN = re.compile(rf"(?:(?P<mult>double|triple)[ \t]+)?(?P<tok>\d+|{_WORD})\b", re.I)

_CVV_CUE = re.compile(
    r"\b(?:cvv2?|cvc2?|cv2|csc|security\s+(?:code|number)|verification\s+(?:code|number|value)"
    r"|(?:three|four|3|4)[ -]digits?(?:\s+(?:code|number))?(?:\s+on\s+the\s+back)?|code\s+on\s+the\s+back)\b",
    re.I,
)
_SSN_CUE = re.compile(r"\b(?:ssn|social\s+security(?:\s+number)?|social\s+insurance|social)\b", re.I)
_CARD_CUE = re.compile(r"\b(?:card|visa|mastercard|master\s+card|amex|american\s+express|debit|credit|pan)\b", re.I)
_PHONE_CUE = re.compile(
    r"\b(?:phone|mobile|cell|telephone|tel|call\s+me|call\s+back|ring\s+me|reach\s+me|text\s+me|contact\s+number"
    r"|landline|whatsapp|number\s+is|on\s+this\s+number)\b",
    re.I,
)
# Numbers after these words identify things, not people: they keep their digits (unless Luhn-valid cards).
_IDENTIFIER_CUE = re.compile(
    r"\b(?:order|invoice|tracking|reference|ref|case|ticket|confirmation|account|policy|item|model|serial|sku)\b",
    re.I,
)


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
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _ssn_plausible(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def mask_pii(text: str) -> MaskResult:
    """Replace every PII value in `text` with a typed token; pure and deterministic."""
    spans: list[_Span] = []
    taken: list[tuple[int, int]] = []

    def claim(start: int, end: int, pii_type: str, token: str) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        spans.append(_Span(start, end, pii_type, token))

    for m in _EXISTING_MASK.finditer(text):
        taken.append((m.start(), m.end()))
    # Cheap substring checks skip detectors that cannot match (most turns have no PII at all).
    lower = text.lower()
    has_digit = _HAS_DIGIT(text) is not None
    if "@" in text:
        for m in _EMAIL.finditer(text):
            claim(m.start(), m.end(), "EMAIL", "[EMAIL]")
    if " dot " in lower:
        for m in _SPOKEN_EMAIL.finditer(text):
            claim(m.start(), m.end(), "EMAIL", "[EMAIL]")
    if has_digit:
        _claim_ibans(text, claim)
    if any(cue in lower for cue in _DOB_CUES):
        for m in _DOB.finditer(text):
            claim(m.start("date"), m.end("date"), "DOB", "[DOB]")
    if has_digit:
        for m in _ADDRESS.finditer(text):
            claim(m.start(), m.end(), "ADDRESS", "[ADDRESS]")
        if any(cue in lower for cue in _ADDRESS_CUES):
            for m in _ADDRESS_CUED.finditer(text):
                claim(m.start("addr"), m.end("addr"), "ADDRESS", "[ADDRESS]")
        if "post" in lower or "zip" in lower:
            for m in _POSTCODE_CUED.finditer(text):
                claim(m.start("code"), m.end("code"), "ADDRESS", "[ADDRESS]")
    _claim_digit_runs(text, lower, taken, claim)

    if not spans:
        return MaskResult(text, (), 0)
    spans.sort(key=lambda s: s.start)
    parts: list[str] = []
    cursor = 0
    for span in spans:
        parts.append(text[cursor : span.start])
        parts.append(span.token)
        cursor = span.end
    parts.append(text[cursor:])
    return MaskResult("".join(parts), tuple(sorted({s.pii_type for s in spans})), len(spans))


def _claim_ibans(text: str, claim: _Claim) -> None:
    for pattern in (_IBAN_GROUPED, _IBAN_PLAIN):
        for m in pattern.finditer(text):
            candidate = m.group()
            # A grouped match may run into a following word or group: shorten it group by group.
            while candidate and not iban_valid(candidate):
                candidate = candidate.rpartition(" ")[0] if " " in candidate else ""
            if candidate:
                claim(m.start(), m.start() + len(candidate), "IBAN", "[IBAN]")


def _claim_digit_runs(text: str, lower: str, taken: list[tuple[int, int]], claim: _Claim) -> None:
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
        for start, end, pii_type, token in _classify_run(text, lower, run.start(), tokens):
            claim(start, end, pii_type, token)


def _tokens(run: re.Match[str]) -> list[_Token]:
    tokens = []
    for m in _RUN_TOKEN.finditer(run.group()):
        word = m.group("tok").lower()
        digits = _DIGIT_WORDS.get(word, word)
        mult = m.group("mult")
        if mult:
            digits *= 2 if mult.lower() == "double" else 3
        tokens.append(_Token(run.start() + m.start(), run.start() + m.end(), digits, word in _DIGIT_WORDS))
    return tokens


def _cue_before(pattern: re.Pattern[str], lower: str, start: int) -> int:
    """Position of the last cue word ending before `start` (within the window), or -1."""
    best = -1
    for m in pattern.finditer(lower, max(0, start - _CONTEXT_CHARS), start):
        best = m.start()
    return best


def _classify_run(text: str, lower: str, run_start: int, tokens: list[_Token]) -> list[tuple[int, int, str, str]]:
    found: list[tuple[int, int, str, str]] = []
    digits = "".join(t.digits for t in tokens)
    start = run_start  # includes a leading "+" or "("
    # "card" counts only if no identifier word ("order number") sits between it and the digits.
    card_cue = _cue_before(_CARD_CUE, lower, start) > _cue_before(_IDENTIFIER_CUE, lower, start)
    # Cards first, also inside a longer run ("4111 1111 1111 1111 12 27"): take the longest Luhn-valid window.
    i = 0
    rest: list[list[_Token]] = [[]]
    while i < len(tokens):
        j = _card_window(tokens, i, card_cue and len(digits) <= 19)
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
            hit = _classify_other(text, lower, seg_start, segment)
            if hit:
                found.append(hit)
    return found


def _card_window(tokens: list[_Token], i: int, cued_whole: bool) -> int | None:
    total = 0
    best = None
    for j in range(i, len(tokens)):
        total += len(tokens[j].digits)
        if total > 19:
            break
        if total >= 13:
            window = "".join(t.digits for t in tokens[i : j + 1])
            if luhn_valid(window) or (cued_whole and i == 0 and j == len(tokens) - 1):
                best = j
    return best


def _classify_other(text: str, lower: str, start: int, tokens: list[_Token]) -> tuple[int, int, str, str] | None:
    end = tokens[-1].end
    digits = "".join(t.digits for t in tokens)
    n = len(digits)
    spoken = any(t.spoken for t in tokens)
    groups = [len(t.digits) for t in tokens]
    raw = text[start:end]
    if 3 <= n <= 4 and _cue_before(_CVV_CUE, lower, start) >= 0:
        return (start, end, "CVV", "[CVV]")
    if n == 9:
        formatted = groups == [3, 2, 4] and not spoken
        if (formatted or _cue_before(_SSN_CUE, lower, start) >= 0) and _ssn_plausible(digits):
            return (start, end, "SSN", "[SSN]")
    if n < 7 or n > 15:
        return None
    phone_cue = _cue_before(_PHONE_CUE, lower, start)
    other_cue = _cue_before(_IDENTIFIER_CUE, lower, start)
    if other_cue > phone_cue:
        return None
    international = raw.startswith("+") and 8 <= n <= 15
    formatted = len(groups) >= 2 and max(groups) <= 6 and 10 <= n <= 12 and not spoken
    if international or formatted or phone_cue >= 0 or (spoken and n >= 7) or raw.startswith("("):
        return (start, end, "PHONE", "[PHONE]")
    return None
