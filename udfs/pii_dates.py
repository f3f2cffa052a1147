"""Dates of birth: every common written and spoken date form, masked only when it is a birth date.

A date is a birth date when a cue (born, date of birth, dob, birthday, ...) sits just before it (the
nearest date after the cue, in the same sentence) or just after it ("14/03/1985 is my date of birth"),
or when the agent has just asked for a date of birth (`expected`). Other dates - deliveries,
renewals, "the fifth of march" as a delivery day - are kept.
"""

from __future__ import annotations

import re

from udfs.pii_common import fragments, table, words

_T = table("dates")
_UNIT = words(_T["unit_words"])
_TEEN = words(_T["teen_words"])
_TENS = words(_T["tens_words"])
_ZERO = words(_T["zero_words"])
_MONTH = words(_T["months"]) + r"\b\.?"
_ORD = (
    rf"(?:{words(_T['tens_for_ordinals'])}[\s-]+(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    rf"|{words(_T['ordinal_words'])})"
)
_TWO_DIGITS = rf"(?:{_TENS}(?:[\s-]+{_UNIT}\b)?|{_TEEN}|{_ZERO}\s+{_UNIT})"
_SPOKEN_YEAR = (
    rf"(?:nineteen\s+(?:hundred|{_TWO_DIGITS})"
    rf"|two\s+thousand(?:\s+and)?(?:\s+(?:{_TWO_DIGITS}|{_UNIT}))?"
    rf"|twenty\s+{_TWO_DIGITS}"
    rf"|{_TWO_DIGITS})"
)
_YEAR = rf"(?:\d{{4}}|'?\d{{2}}|{_SPOKEN_YEAR})\b"
_DAY = rf"(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORD})\b"
_NUMBER_WORD = rf"(?:{_TWO_DIGITS}|{_UNIT}|{_ZERO}|{_TEEN})\b"
_DATE = re.compile(
    rf"\b(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}\b"  # ISO 1985-03-14, 1985/03/14
    rf"|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})\b"  # 14/03/1985, 3-14-85, 9.10.58
    rf"|{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR})?"  # 9 October 1958, the fifth of march eighty two
    rf"|{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?"  # October 9th, 1958; june third two thousand one
    rf"|\d{{1,2}}\s+\d{{1,2}}\s+(?:\d{{4}}|\d{{2}})\b)",  # 14 03 85
    re.I,
)
# Spoken numbers with no month word ("oh nine ten fifty eight"): a date only where one is expected.
_SPOKEN_NUMERIC = re.compile(rf"\b{_NUMBER_WORD}(?:\s+{_NUMBER_WORD}){{2,5}}", re.I)
_HINT = re.compile(rf"\d|\b{_MONTH}", re.I)
_CUE = re.compile(rf"\b{fragments(_T['dob_cues'])}(?:\b|(?<=\.))", re.I)
_NOT_AFTER_CUE = re.compile(rf"\s*(?:{words(_T['not_dob_after_cue'])})\b", re.I)
_CUE_REACH = 45  # characters between a cue and the date it introduces
_CUE_AFTER_REACH = 30  # characters between a date and a cue that follows it
_BREAK = re.compile(r"[.!?;\n]\s")
_CUE_WORDS = ("birth", "dob", "d.o.b", "born", "b'day")


def find_dobs(text: str, lower: str, *, expected: bool) -> list[tuple[int, int]]:
    """Spans of the dates of birth in `text`; with `expected`, every date (and spoken number) is one."""
    if expected:
        dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]
        return _merge(dates + [(m.start(), m.end()) for m in _SPOKEN_NUMERIC.finditer(text)])
    if not any(cue in lower for cue in _CUE_WORDS):
        return []
    cues = list(_CUE.finditer(text))
    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)] if _HINT.search(text) else []
    found: list[tuple[int, int]] = []
    for cue in cues:
        if _NOT_AFTER_CUE.match(text, cue.end()):
            continue
        after = next((d for d in dates if d[0] >= cue.end()), None)
        if after is None or not _near(text, cue.end(), after[0], _CUE_REACH):
            spoken = _SPOKEN_NUMERIC.search(text, cue.end())
            after = (spoken.start(), spoken.end()) if spoken else None
        if after is not None and _near(text, cue.end(), after[0], _CUE_REACH):
            found.append(after)
            continue
        before = next((d for d in reversed(dates) if d[1] <= cue.start()), None)
        if before is not None and _near(text, before[1], cue.start(), _CUE_AFTER_REACH):
            found.append(before)
    return _merge(found)


def _near(text: str, start: int, end: int, reach: int) -> bool:
    return end - start <= reach and _BREAK.search(text, start, end) is None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
