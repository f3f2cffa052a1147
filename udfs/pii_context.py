"""Context-aware masking: what the agent just asked for, and the customer's answer to it.

`asked_for(agent_text)` reads an agent turn (already masked) and returns the PII type it asks for,
or several joined by "+" ("NAME+DOB" for "can you confirm your name and date of birth?"), or None.
The conversation keeps it in state and passes it as `expected` when masking the customer's next turn
(`mask_pii(text, expected=...)`), so that an answer is masked for that type even where the pattern
alone is weak: a bare "09/10/58", "three one two" for a security code, a name with no cue. A password,
PIN or memorable word answer is masked whole as `[SECRET]`.
"""

from __future__ import annotations

import re

from udfs.pii_common import fragments, table, words
from udfs.pii_names import is_common_word

_T = table("asks")
_ASKS = [(pii_type, re.compile(rf"\b{fragments(phrases)}(?!\w)", re.I)) for pii_type, phrases in _T["asks"]]
_REQUEST = re.compile(rf"\b{fragments(_T['request_cues'])}\b|\?", re.I)
_NOT_REQUEST = re.compile(rf"\b{fragments(_T['not_requests'])}\b", re.I)
_FILLERS = re.compile(rf"^(?:[\s,.:;!-]*\b{words(_T['answer_fillers'])}(?![\w']))*[\s,.:;!-]*", re.I)
_TRAILERS = re.compile(rf"(?:[\s,.:;!-]*\b{words(_T['answer_trailers'])}\b)*[\s,.:;!-]*$", re.I)
_SECRET_AFTER = re.compile(
    r"\b(?:password|passcode|pass\s+code|passphrase|pin)\b[^\n]{0,40}?\b(?:it'?s|it\s+is|i\s+(?:typed|entered|used|put))"
    r"\s+(?P<value>(?=[^\s]*[A-Za-z])(?=[^\s]*[\d!@#$%^&*])[^\s,;]{6,})",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_REFUSAL = re.compile(rf"{words(_T['refusals'])}(?![\w'])", re.I)
_SECRET_CUE = re.compile(
    r"\b(?:password|passcode|pass\s+code|passphrase|memorable\s+(?:word|answer|information)|pin(?:\s+number)?"
    r"|secret\s+(?:word|answer)|security\s+answer)(?:\s+is|\s+was|\s*:|'s)\s+(?P<value>[^\s,.;!?]+(?:\s+[^\s,.;!?]+){0,2})",
    re.I,
)
SECRET_TYPES = frozenset({"PASSWORD", "MEMORABLE_WORD", "PIN", "SECRET"})
_ALIASES = {"POSTCODE": "ADDRESS", "ZIP": "ADDRESS", "SECURITY_CODE": "CVV", "DATE_OF_BIRTH": "DOB"}


def asked_for(agent_text: str) -> str | None:
    """The PII type(s) an agent turn asks the customer for ("DOB", "CVV", "NAME+DOB", ...), or None."""
    # Sentence by sentence: "don't share your password. What's your postcode?" asks for the postcode only.
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for sentence in _SENTENCE.finditer(agent_text):
        text = sentence.group()
        if _REQUEST.search(text) is None or _NOT_REQUEST.search(text) and "?" not in text:
            continue
        for pii_type, pattern in _ASKS:
            for m in pattern.finditer(agent_text, sentence.start(), sentence.end()):
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append((m.start(), pii_type))
    types = list(dict.fromkeys(t for _, t in sorted(found)))
    return "+".join(types) if types else None


def expected_types(expected: str | None) -> frozenset[str]:
    """The types named by an `expected` value ("DOB", "name+dob", "POSTCODE" -> ADDRESS)."""
    if not expected:
        return frozenset()
    names = (part.strip().upper().replace(" ", "_") for part in expected.split("+"))
    return frozenset(_ALIASES.get(name, name) for name in names if name)


def answer_span(text: str) -> tuple[int, int] | None:
    """The answer itself within a reply, without fillers ("yeah it's ...") and trailers ("thanks").

    None when the reply is a question or a refusal ("sorry, which code?", "I forgot it").
    """
    start = _FILLERS.match(text).end()  # type: ignore[union-attr]
    end = _TRAILERS.search(text, start).start()  # type: ignore[union-attr]
    if end <= start or "?" in text[start:] or _REFUSAL.match(text, start):
        return None
    return (start, end)


def answer_start(text: str) -> int:
    """Where a reply's answer starts, after fillers such as "yeah it's"."""
    return _FILLERS.match(text).end()  # type: ignore[union-attr]


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Values after "my password is", "memorable word:" and the like (not "password is wrong").

    Also a credential-looking token soon after a password is mentioned ("my password wont work. its
    Summer2024!"): letters mixed with digits or symbols, so plain words are never taken for one.
    """
    cued = [
        (m.start("value"), m.end("value"))
        for m in _SECRET_CUE.finditer(text)
        if not is_common_word(first := m.group("value").split()[0]) and not first.endswith(("ed", "ing"))
    ]
    return cued + [(m.start("value"), m.end("value")) for m in _SECRET_AFTER.finditer(text)]
