"""`audit verify|validate|query` on a missing or empty --root: one line naming the path and the fix, exit 2."""

import pytest

from auditlake.store import AuditStore
from cuecard.cli import main

ACTIONS = (["verify"], ["validate"], ["query", "--sql", "SELECT 1"], ["query", "why_suggestion"])


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("make", "state"), [(lambda p: None, "does not exist"), (lambda p: p.mkdir(), "holds no")])
def test_missing_or_empty_root_fails_with_one_line(tmp_path, capsys, action, make, state):
    root = tmp_path / "delta"
    make(root)
    assert main(["audit", *action, "--root", str(root)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert str(root) in err and state in err and "--root" in err and "CUECARD_AUDIT_DIR" in err


def test_a_lake_of_empty_tables_is_checked(tmp_path, capsys):
    AuditStore(tmp_path).open()
    assert main(["audit", "verify", "--root", str(tmp_path)]) == 0
    assert main(["audit", "query", "--sql", "SELECT count(*) AS n FROM turns", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 findings" in out and "(1 row)" in out
