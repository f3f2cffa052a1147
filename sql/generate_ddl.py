"""Regenerate `sql/ddl/` (Flink SQL DDL and the schema reference) from `udfs/schemas/`.

Run after changing a schema: `.venv/bin/python sql/generate_ddl.py`. The unit test
`tests/unit/test_ddl.py` fails while the checked-in files are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Write every generated file and list them."""
    sys.path.insert(0, str(ROOT))
    from udfs.ddl import write_all

    for path in write_all(ROOT / "sql" / "ddl"):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
