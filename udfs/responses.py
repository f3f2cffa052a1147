"""The approved response library (`models/responses.json`): typed, validated on load, read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LIBRARY = Path(__file__).resolve().parents[1] / "models" / "responses.json"
CHANNELS = ("chat", "email", "voice")
KINDS = ("reply", "knowledge", "next_action")
TONES = ("neutral", "empathetic", "formal")
VOICE_MAX_CHARS = 200


class LibraryError(ValueError):
    """The response library is malformed; the message names the template and the rule it breaks."""


@dataclass(frozen=True, slots=True)
class Template:
    """One approved text an agent may send: a reply, a knowledge snippet or a next action."""

    template_id: str
    version: int
    intent: str
    kind: str
    channels: tuple[str, ...]
    tone: str
    text: str
    disclosures: tuple[str, ...]


@dataclass(frozen=True)
class ResponseLibrary:
    """All templates of one library version, with the disclosure texts they satisfy."""

    library_version: str
    templates: tuple[Template, ...]
    disclosures: dict[str, str]
    # The library is immutable once loaded, and every turn asks it the same few questions.
    _selected: dict[tuple[str | None, str, str | None], tuple[Template, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def load(cls, path: Path = DEFAULT_LIBRARY, intents: tuple[str, ...] | None = None) -> ResponseLibrary:
        """Read and validate the library; `intents`, if given, must each have a reply on every channel."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        library = cls.from_dict(raw)
        library.validate(intents)
        return library

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ResponseLibrary:
        """Build from the parsed JSON document (no validation beyond field presence)."""
        templates = tuple(
            Template(
                template_id=t["template_id"],
                version=int(t["version"]),
                intent=t["intent"],
                kind=t["kind"],
                channels=tuple(t["channels"]),
                tone=t["tone"],
                text=t["text"],
                disclosures=tuple(t.get("disclosures", ())),
            )
            for t in raw["templates"]
        )
        disclosures = {d["disclosure_id"]: d["text"] for d in raw.get("disclosures", ())}
        return cls(library_version=str(raw["library_version"]), templates=templates, disclosures=disclosures)

    def validate(self, intents: tuple[str, ...] | None = None) -> None:
        """Enforce the contract: unique ids, known kinds/tones/channels, short voice, no placeholders."""
        seen: set[str] = set()
        for t in self.templates:
            where = f"template {t.template_id!r}"
            if t.template_id in seen:
                raise LibraryError(f"{where} appears twice; template ids must be unique")
            seen.add(t.template_id)
            if t.kind not in KINDS or t.tone not in TONES or not set(t.channels) <= set(CHANNELS):
                raise LibraryError(f"{where} has kind/tone/channels outside {KINDS}/{TONES}/{CHANNELS}")
            if "{" in t.text or "}" in t.text:
                raise LibraryError(f"{where} contains a placeholder; templates take no placeholders")
            if t.kind == "reply" and "voice" in t.channels and len(t.text) > VOICE_MAX_CHARS:
                raise LibraryError(f"{where} is {len(t.text)} chars; voice replies must be <= {VOICE_MAX_CHARS}")
            unknown = set(t.disclosures) - set(self.disclosures)
            if unknown:
                raise LibraryError(f"{where} names unknown disclosures {sorted(unknown)}")
        for intent in intents or ():
            for channel in CHANNELS:
                if not self.select(intent, channel, "reply"):
                    raise LibraryError(f"intent {intent!r} has no reply template for channel {channel!r}")

    def select(self, intent: str | None, channel: str, kind: str | None = None) -> list[Template]:
        """Templates usable on `channel`, optionally of one intent and one kind, in library order."""
        key = (intent, channel, kind)
        found = self._selected.get(key)
        if found is None:
            found = self._selected[key] = tuple(
                t
                for t in self.templates
                if channel in t.channels and (intent is None or t.intent == intent) and (kind is None or t.kind == kind)
            )
        return list(found)

    def get(self, template_id: str) -> Template:
        """The template with this id (KeyError if absent)."""
        for t in self.templates:
            if t.template_id == template_id:
                return t
        raise KeyError(template_id)
