"""The model registry: `name@version` references, manifests, sha256-verified artifacts and ONNX sessions.

Every artifact's sha256 is checked against the manifest the build wrote before a session is created,
so a corrupted or swapped file never loads (see models/README.md for how a build is pinned).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMITTED_REGISTRY = Path(__file__).resolve().parents[1] / "models" / "registry.json"


MANIFEST_NAME = "registry.json"


class ModelError(RuntimeError):
    """A model could not be resolved or loaded; the message is one line naming the file and the fix."""


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model reference `name@version`."""

    name: str
    version: str

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        """Parse `name@version`; raises ModelError on anything else."""
        name, sep, version = ref.partition("@")
        if not sep or not name or not version:
            raise ModelError(f"model reference {ref!r} is not name@version (e.g. intent@1)")
        return cls(name, version)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Registry:
    """Model manifests keyed by `name@version`, read from a registry JSON file."""

    path: Path
    entries: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Registry:
        """Read a registry file; a missing file is an empty registry."""
        if not path.exists():
            return cls(path, {})
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, {f"{m['name']}@{m['version']}": m for m in raw["models"]})

    def entry(self, ref: ModelRef) -> dict[str, Any] | None:
        """The manifest of `ref`, or None."""
        return self.entries.get(str(ref))

    def champion(self, name: str) -> ModelRef | None:
        """The champion version of `name`, if one is registered."""
        return self._stage(name, "champion")

    def challenger(self, name: str) -> ModelRef | None:
        """The challenger version of `name`, if one is registered."""
        return self._stage(name, "challenger")

    def _stage(self, name: str, stage: str) -> ModelRef | None:
        for m in self.entries.values():
            if m["name"] == name and m.get("stage") == stage:
                return ModelRef(m["name"], str(m["version"]))
        return None


def resolve(models_dir: Path, ref: ModelRef, registries: Sequence[Registry]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Find `ref` in the first registry that has it and verify every artifact's sha256.

    Returns the manifest and role -> verified file path. Raises ModelError with one line naming the
    file and both hashes when an artifact does not match (see `default_registries` for which hashes).
    """
    for registry in registries:
        manifest = registry.entry(ref)
        if manifest is not None:
            break
    else:
        where = ", ".join(str(r.path) for r in registries)
        raise ModelError(f"model {ref} is not in the registry ({where}); run `python -m models.build`")
    paths: dict[str, Path] = {}
    for role, art in manifest["artifacts"].items():
        path = models_dir / art["file"]
        if not path.exists():
            raise ModelError(f"model {ref}: artifact {path} is missing; run `python -m models.build`")
        actual = sha256_file(path)
        if actual != art["sha256"]:
            raise ModelError(
                f"model {ref}: artifact {path} has sha256 {actual} but the registry {registry.path} "
                f"expects {art['sha256']}; refusing to load (rebuild with `python -m models.build`)"
            )
        paths[role] = path
    return manifest, paths


def default_registries(models_dir: Path) -> list[Registry]:
    """The manifest the build wrote into `models_dir`: the hashes of the artifacts that are there.

    The build writes it only after checking that every artifact reproduces its pin in `COMMITTED_REGISTRY`
    (byte for byte, or within the tolerances of `models/reproduce.py` on another CPU/BLAS), so loading
    against it still refuses a corrupted or swapped file.
    """
    return [Registry.load(models_dir / MANIFEST_NAME)]


def session_options() -> Any:
    """Single-threaded onnxruntime options: one operator must not fight the others for the 2 cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def open_session(path: Path) -> Any:
    """An onnxruntime session over a verified artifact, with the single-threaded options."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), sess_options=session_options(), providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class ScorerRefs:
    """Which model versions to serve; `shadow_intent` (a challenger) runs beside the champion, unseen."""

    intent: str = "intent@1"
    sentiment: str = "sentiment@1"
    compliance: str = "compliance@1"
    embedder: str = "embedder@1"
    index: str = "response_index@2026.11.0"
    shadow_intent: str | None = "intent@2"

    @classmethod
    def from_registry(cls, registries: Sequence[Registry]) -> ScorerRefs:
        """Champions of every task, and the intent challenger (if any) as shadow."""

        def pick(name: str, stage: str) -> str | None:
            for registry in registries:
                ref = registry.champion(name) if stage == "champion" else registry.challenger(name)
                if ref is not None:
                    return str(ref)
            return None

        refs = {}
        for name in ("intent", "sentiment", "compliance", "embedder", "response_index"):
            found = pick(name, "champion")
            if found is None:
                raise ModelError(f"no champion model named {name!r} is registered; run `python -m models.build`")
            refs["index" if name == "response_index" else name] = found
        return cls(**refs, shadow_intent=pick("intent", "challenger"))
