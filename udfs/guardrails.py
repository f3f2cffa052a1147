"""Guardrails every suggestion text passes, whatever made it (library template or rule card).

A text is blocked for a forbidden phrase of the active policy or for PII in it; both checks are
memoised, because suggestion texts come from a fixed library and policy.
"""

from __future__ import annotations

from functools import lru_cache

from udfs.pii import mask_pii
from udfs.records import Policy


@lru_cache(maxsize=4096)
def pii_types_in(text: str) -> tuple[str, ...]:
    """The PII types a suggestion text would leak (memoised)."""
    # Suggestion texts come from a fixed library and policy, so each is scanned once per process.
    return mask_pii(text).pii_types


_GUARD_CACHE: dict[tuple[str, str, str], tuple[str, ...]] = {}
_GUARD_CACHE_MAX = 8192


def text_guard(text: str, rules: Policy) -> list[str]:
    """Blocking rules for any suggestion text: forbidden phrases and PII (memoised per policy version)."""
    key = (rules.policy_id, rules.version, text)
    fired = _GUARD_CACHE.get(key)
    if fired is None:
        found = [f"policy.forbidden_phrase:{phrase}" for phrase in rules.forbidden_in(text)]
        pii = pii_types_in(text)
        if pii:
            found.append(f"guardrail.pii:{'+'.join(pii)}")
        if len(_GUARD_CACHE) >= _GUARD_CACHE_MAX:
            _GUARD_CACHE.clear()
        fired = _GUARD_CACHE[key] = tuple(found)
    return list(fired)
