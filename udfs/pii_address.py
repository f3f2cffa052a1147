"""Street addresses, US and UK, typed or spoken: the whole address becomes one span.

An address is a house number (digits, "221B", or spoken "four hundred and twelve"), optionally after
a flat/apartment, then one to four street words and a street suffix, then optionally a unit ("apt
4B", "flat 3"), a town/city, a state, and a ZIP code or UK postcode (also spoken letter by letter:
"m one two a b"). Weak matches (lower-case, a suffix that is also a common word, a spoken house
number, nothing after the street) count only after an address cue ("I live at", "ship it to") or
when the agent has just asked for an address. Postcodes and ZIP codes after "postcode"/"zip" count
alone, and so does a capitalised UK postcode ("SW1A 1AA").
"""

from __future__ import annotations

import re

from udfs.pii_common import DIGIT_WORD, table, words

_T = table("address")
_D = table("dates")
_STOP = words(_T["street_stopwords"])
_CITY_STOP = words(_T["street_stopwords"] + _T["city_stopwords"] + _T["unit_words"][:-1])
_SUFFIX = words(_T["street_suffixes"])
_STRONG_SUFFIXES = frozenset(_T["strong_suffixes"])
_NUMBER_WORD = words(_D["unit_words"] + _D["teen_words"] + _D["tens_words"] + ["oh", "zero", "double"])
_SPOKEN_NUMBER = rf"{_NUMBER_WORD}\b(?:[ \t]+(?:and[ \t]+)?(?:{_NUMBER_WORD}|hundred|thousand)\b){{0,4}}"
_HOUSE = rf"(?P<num>\d{{1,5}}(?:-\d{{1,5}})?[A-Za-z]?\b|(?P<spoken>{_SPOKEN_NUMBER}))"
_UNIT_NUMBER = rf"(?:\d{{1,5}}[A-Za-z]?\b|[A-Za-z]\d{{0,3}}\b|{_SPOKEN_NUMBER}(?:[ \t]+[a-z]\b(?![ \t]+[a-z]\b))?)"
_UNIT_WORD = words(_T["unit_words"])
_UNIT = rf"{_UNIT_WORD}\.?[ \t]*(?:#|no\.?|number)?[ \t]*{_UNIT_NUMBER}"
_STREET_WORD = rf"(?!(?:{_STOP}|{_NUMBER_WORD}|and|hundred)\b)(?:[A-Za-z][A-Za-z'.-]*|\d{{1,3}}(?:st|nd|rd|th))"
_CITY_WORD = rf"(?!{_CITY_STOP}\b)[A-Za-z][A-Za-z'.-]*"
_DIRECTION = r"(?:north|south|east|west|northeast|northwest|southeast|southwest|(?-i:NW|NE|SW|SE|N|S|E|W))\b\.?"
_DIGIT = rf"(?:\d|{DIGIT_WORD})\b"
_POSTCODE = (
    rf"(?:[A-Za-z]{{1,2}}\d[A-Za-z\d]?[ \t]*\d[A-Za-z]{{2}}\b"
    rf"|[a-z](?:[ \t]+[a-z])?[ \t]+(?:{_DIGIT}|{words(_D['teen_words'])}\b)(?:[ \t]+(?:{_DIGIT}|[a-z]\b))?"
    rf"[ \t]+{_DIGIT}[ \t]+[a-z][ \t]+[a-z]\b)"
)
_ZIP = rf"(?:\d{{5}}(?:-\d{{4}})?\b|{_DIGIT}(?:[ \t]+{_DIGIT}){{4}})"
_STATE_NAME = words(s for s in _T["us_states"] if len(s) > 2)
_STATE_ABBR = words(s for s in _T["us_states"] if len(s) == 2)
_STATE = rf"(?:{_STATE_NAME}\b|(?-i:[A-Z]{{2}})\b(?<=[A-Z])|{_STATE_ABBR}\b(?=[ \t,]+{_ZIP}))"
_SEP = r"(?:,?[ \t]+|,[ \t]*\n?[ \t]*)"
_TAIL = (
    rf"(?P<tail>(?:{_SEP}{_CITY_WORD}){{0,3}}(?:{_SEP}{_STATE})?{_SEP}(?:{_POSTCODE}|{_ZIP})"
    rf"|(?:{_SEP}{_CITY_WORD}){{1,3}}{_SEP}{_STATE}"
    rf"|(?:{_SEP}{_CITY_WORD}){{1,2}}(?=[ \t]*(?:[,.!?)]|$)))?"
)
_WHOLE = words(_T["whole_streets"])
_ADDRESS = re.compile(
    rf"(?<![\w\[])(?P<pre>{_UNIT},?[ \t]+)?{_HOUSE},?"
    rf"(?:(?P<name>(?:[ \t]+{_STREET_WORD}){{1,4}})[ \t]+(?P<suffix>{_SUFFIX})|[ \t]+(?P<whole>{_WHOLE}))\b\.?"
    rf"(?:,?[ \t]+{_DIRECTION})?(?P<unit>{_SEP}{_UNIT})?{_TAIL}",
    re.I | re.M,
)
_PO_BOX = re.compile(r"\bp\.?[ \t]?o\.?[ \t]+box[ \t]+\d{1,6}\b(?:,[ \t]*[A-Z][a-z]+)?", re.I)
_POSTCODE_CUE = re.compile(
    rf"\b(?:post[ \t]?code|zip(?:[ \t]?code)?)\b[\s:,-]*(?:is[ \t]+|it's[ \t]+)?(?P<code>{_POSTCODE}|{_ZIP})", re.I
)
_BARE_POSTCODE = re.compile(rf"(?<![\w\[])(?:{_POSTCODE}|\d{{5}}(?:-\d{{4}})?\b)", re.I)
_CAPITAL_POSTCODE = re.compile(r"(?<![\w\[])(?-i:[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2})\b")
_CUE = re.compile(rf"(?:{words(_T['address_cues'])})[\s:,-]*$", re.I)
_CUE_REACH = 30
_HINT = re.compile(rf"\d|\b(?:{_NUMBER_WORD}|post|zip)\b", re.I)
_SUFFIX_HINT = re.compile(rf"\b(?:{_SUFFIX}|{_WHOLE})\b", re.I)


def find_addresses(text: str, *, expected: bool) -> list[tuple[int, int]]:
    """Spans of the street addresses, PO boxes and postcodes in `text`."""
    if _HINT.search(text) is None:
        return []
    found = []
    for m in _ADDRESS.finditer(text) if _SUFFIX_HINT.search(text) else ():
        if expected or _strong(m) or _CUE.search(text, max(0, m.start() - _CUE_REACH), m.start()):
            found.append((m.start(), m.end()))
    found += [(m.start(), m.end()) for m in _PO_BOX.finditer(text)]
    found += [(m.start("code"), m.end("code")) for m in _POSTCODE_CUE.finditer(text)]
    found += [(m.start(), m.end()) for m in _CAPITAL_POSTCODE.finditer(text)]
    if expected:
        found += [(m.start(), m.end()) for m in _BARE_POSTCODE.finditer(text)]
    return found


def _strong(m: re.Match[str]) -> bool:
    """Whether an address match stands without a cue."""
    if m.group("tail") and re.search(r"\d|\b[a-z]\b", m.group("tail")) or m.group("unit") or m.group("pre"):
        return True
    if m.group("spoken"):
        return False
    street = (m.group("name") or "").split() + (m.group("suffix") or m.group("whole")).split()
    return street[-1].lower() in _STRONG_SUFFIXES or all(w[0].isupper() for w in street)
