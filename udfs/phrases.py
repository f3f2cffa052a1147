"""Matching a policy phrase in what people actually say: its inflections and its numbers spoken or written.

"guarantee" must catch "guaranteed", "guarantees" and "guaranteeing"; "100% sure" must catch "a
hundred percent sure" in a voice transcript and "100 per cent sure" in an e-mail; "I can't
guarantee" is the careful wording the policy asks for, not a breach. Each word of a
phrase matches itself plus the regular English endings; a number matches its digits or its words;
"%" matches "percent" and "per cent". Whole words only, any whitespace between them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ENDINGS = r"(?:s|es|d|ed|ing|ly)?"
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen".split()
_UNITS += "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_MIN_STEM = 5  # shorter words take no endings: "will" must not match "willing", nor "i" "is"
_NUMBER = re.compile(r"(\d{1,3})(%?)")
# A negation just before a phrase turns a promise into the careful wording the policy wants.
_NEGATION_REACH = 30
_NEGATED = re.compile(
    r"\b(?:not|never|can't|cannot|can not|cant|won't|wont|couldn't|wouldn't|don't|dont|unable to|no one can)"
    r"(?:\s+\w+){0,2}\s+$",
    re.I,
)


def spoken(number: int) -> str:
    """A regex for how people say 0..999 ("a hundred", "one hundred and five", "forty two")."""
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return _TENS[tens] + (rf"[\s-]+{_UNITS[unit]}" if unit else "")
    hundreds, rest = divmod(number, 100)
    head = r"(?:a|one)\s+hundred" if hundreds == 1 else rf"{_UNITS[hundreds]}\s+hundred"
    return head + (rf"\s+(?:and\s+)?{spoken(rest)}" if rest else "")


def _word(token: str) -> str:
    """The regex of one word of a phrase."""
    if number := _NUMBER.fullmatch(token):
        said = rf"(?:{number[1]}|{spoken(int(number[1]))})"
        return said + (r"\s*(?:%|per\s*cent)" if number[2] else "")
    if not token.isalpha() or len(token) < _MIN_STEM:
        return re.escape(token)
    stem = token[:-1] if token.endswith("e") else token  # "promise" -> "promis" + "ing"
    return rf"(?:{re.escape(token)}{_ENDINGS}|{re.escape(stem)}ing)"


def phrase_regex(phrase: str) -> str:
    """The regex of one phrase (no anchors)."""
    return r"\s+".join(_word(token) for token in phrase.lower().split())


def compile_phrases(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One pattern for all phrases, scanned once per text; group `p<i>` is set when phrase i matched."""
    if not phrases:
        return None
    body = "|".join(f"(?P<p{i}>{phrase_regex(p)})" for i, p in enumerate(phrases))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.I)


def phrases_in(pattern: re.Pattern[str] | None, phrases: Sequence[str], text: str) -> list[str]:
    """The phrases (in their given order) that occur in `text`, except where negated ("I can't guarantee")."""
    if pattern is None:
        return []
    hit: set[int] = set()
    for match in pattern.finditer(text):
        if _NEGATED.search(text, max(0, match.start() - _NEGATION_REACH), match.start()):
            continue
        hit.update(int(name[1:]) for name, value in match.groupdict().items() if value is not None)
    return [phrases[i] for i in sorted(hit)]
