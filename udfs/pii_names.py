"""Personal names in free text, after a cue, a title or in a signature.

Cues: "my name is", "this is ... speaking"; titles: "Mrs Okafor"; signatures: a closing line
("Kind regards,") then the name on its own line; and the answer when the agent has just asked for a
name.

A name is one to three words that are not common English words (`pii_data/names.json`,
`not_names`); in cased text a capitalised first word takes only capitalised words after it. Words
spelled out letter by letter right after a name ("kowalski k o w a l s k i") belong to it.
"""

from __future__ import annotations

import re

from udfs.pii_common import fragments, table, words

_T = table("names")
_NOT_NAMES = frozenset(_T["not_names"])
_WORD = re.compile(r"[ \t]*(?P<w>[A-Za-z][A-Za-z'’-]*)")
_FILLER = re.compile(rf"[ \t]*,?[ \t]*(?:{words(_T['fillers'])}\b[ \t,]*)*", re.I)
_SPELLING = re.compile(r"(?:[ \t]+[A-Za-z]\b){3,}")
_TITLE = words(_T["titles"])
_STRONG = re.compile(rf"\b{fragments(_T['cues'])}(?![\w'])[ \t:,-]*", re.I)
_WEAK = re.compile(rf"\b{words(_T['weak_cues'])}[ \t]+", re.I)
_ENDINGS = tuple(_T["not_name_endings"])
_CLOSER = re.compile(rf"[ \t,]+{words(_T['weak_cue_closers'])}\b", re.I)
_TITLED = re.compile(rf"\b{_TITLE}\b\.?[ \t]+(?=[A-Za-z])", re.I)
_SIGNATURE = re.compile(
    rf"(?:^|(?<=[\n.!]))[ \t]*{words(_T['closings'])}[ \t]*[,.!]*[ \t]*(?:\n[ \t]*(?=\S)|,[ \t]*(?=[^\n]*$))",
    re.I | re.M,
)
_CUE_HINTS = ("name", "speaking", "talking", "signed", "call me", "holder", "through to", "reached")
_WEAK_HINTS = ("this is", "it's", "it is", "i'm", "i am", "here is")


def find_names(text: str, lower: str) -> list[tuple[int, int]]:
    """Spans of the personal names that `text` introduces by a cue, a title or a signature."""
    found: list[tuple[int, int]] = []
    if any(h in lower for h in _CUE_HINTS):
        for m in _STRONG.finditer(text):
            span = name_at(text, m.end())
            if span:
                found.append(span)
    if any(h in lower for h in _WEAK_HINTS):
        for m in _WEAK.finditer(text):
            span = name_at(text, m.end())
            if (
                span
                and (_CLOSER.match(text, span[1]) or _full_name(text, span))
                and not _word_shaped(text[span[0] : span[1]])
            ):
                found.append(span)
    for m in _TITLED.finditer(text):
        span = name_at(text, m.end(), after_title=True)
        if span:
            found.append((m.start(), span[1]))
    if "\n" in text or "," in text:
        for m in _SIGNATURE.finditer(text):
            span = name_at(text, m.end(), line_end=True)
            if span:
                found.append(span)
    return found


def _full_name(text: str, span: tuple[int, int]) -> bool:
    """Two or more capitalised words in text that is not title-cased throughout ("I'm Rita Skeeter")."""
    parts = text[span[0] : span[1]].split()
    return len(parts) >= 2 and all(p[0].isupper() for p in parts) and not text.istitle()


def _word_shaped(name: str) -> bool:
    """Whether a lower-case candidate looks like an ordinary word ("recovering", "noisy")."""
    return any(w.islower() and len(w) > 4 and w.endswith(_ENDINGS) for w in name.split())


def name_at(text: str, pos: int, *, after_title: bool = False, line_end: bool = False) -> tuple[int, int] | None:
    """The name starting at `pos` (after fillers and a title), or None if the next word is not one.

    With `line_end`, the name must fill the rest of its line (a signature).
    """
    filler = _FILLER.match(text, pos)
    pos = filler.end() if filler else pos
    titled = _TITLED.match(text, pos)
    start = pos
    if titled and not after_title:
        pos, after_title = titled.end(), True
    words_found: list[re.Match[str]] = []
    cased = False
    while len(words_found) < 3:
        m = _WORD.match(text, pos)
        if m is None:
            break
        word = m.group("w")
        low = word.lower()
        if low in _NOT_NAMES or (len(word) == 1 and not words_found) or word.isupper() and len(word) > 1:
            break
        if words_found and cased and not word[0].isupper():
            break
        if not words_found:
            cased = word[0].isupper() and not text.islower()
        words_found.append(m)
        pos = m.end()
    if not words_found:
        return None
    end = words_found[-1].end()
    spelled = _SPELLING.match(text, end)
    if spelled:
        end = spelled.end()
    if line_end and text[end:].split("\n", 1)[0].strip(" \t.,!"):
        return None
    return (start if titled else words_found[0].start("w"), end)


def is_common_word(word: str) -> bool:
    """Whether `word` is a common English word that is not a name (`not_names`)."""
    return word.lower() in _NOT_NAMES
