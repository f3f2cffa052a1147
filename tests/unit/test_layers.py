"""The floors of the code base: udfs/ at the bottom, then lineage/, models/, auditlake/, then jobs/, then the CLI.

A module may import its own floor or lower ones, never a higher one, and no set of modules imports
itself round in a circle (function-level imports count too: they still tie the modules together).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {"udfs": 0, "lineage": 1, "models": 1, "auditlake": 1, "jobs": 2, "cuecard": 3}


def _modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] in FLOORS}


def test_no_module_imports_a_higher_floor() -> None:
    upward = [
        f"{module} -> {target}"
        for module, path in _modules().items()
        for target in _imports(path)
        if FLOORS[target.split(".")[0]] > FLOORS[module.split(".")[0]]
    ]
    assert upward == []


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}
    circles = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join((*trail, start)))
                elif nxt not in seen and nxt > start:  # report each circle once, from its smallest module
                    seen.add(nxt)
                    stack.append((nxt, (*trail, nxt)))
    assert circles == []
