"""`cuecard audit write|verify|vacuum|validate|query`: the audit lake's writer and the auditors' tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from udfs.settings import SettingsError

ROOT_HELP = "tables' root directory (env CUECARD_AUDIT_DIR; default $CUECARD_RUN_DIR/audit/delta)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `audit` and its actions."""
    from auditlake.verify import DEFAULT_RETENTION_HOURS
    from auditlake.writer import DESCRIPTION, add_options

    audit = subparsers.add_parser("audit", help="the Delta audit lake: write, verify, vacuum, validate, query")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    write = actions.add_parser(
        "write", help="run the audit lake writer (same as python -m auditlake.writer)", description=DESCRIPTION
    )
    add_options(write)
    write.set_defaults(func=_write)

    verify = actions.add_parser(
        "verify",
        help="recompute hash chains and check the Delta log; non-zero exit on any finding",
        description="Recompute every table's per-date hash chain and compare it with the Delta log: reports "
        "changed, deleted, reordered or duplicated rows, missing or altered log entries, missing or altered data "
        "files, and rows in files no commit references. Exit 1 on any finding.",
    )
    verify.add_argument("--root", type=Path, help=ROOT_HELP)
    verify.add_argument("--table", action="append", help="only this table (repeatable)")
    verify.set_defaults(func=_verify)

    vacuum = actions.add_parser(
        "vacuum",
        help="delete data files no commit references (orphans of crashed writes)",
        description="Tables are append-only, so the only files vacuum can delete are ones no commit references: "
        "the orphans of writes that crashed before their commit. Runs verify first and refuses to delete "
        "while it has findings (orphans of a removed log entry are evidence). The log itself is kept "
        "(delta.logRetentionDuration = 3650 days) so time travel and verify keep working.",
    )
    vacuum.add_argument("--root", type=Path, help=ROOT_HELP)
    vacuum.add_argument(
        "--retention-hours",
        type=float,
        default=DEFAULT_RETENTION_HOURS,
        help=f"only files older than this (default {DEFAULT_RETENTION_HOURS:g}); below it needs --force",
    )
    vacuum.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    vacuum.add_argument("--force", action="store_true", help="allow a short retention and ignore verify findings")
    vacuum.set_defaults(func=_vacuum)

    validate = actions.add_parser(
        "validate",
        help="run the Great Expectations suites on whole tables and write Data Docs",
        description="Validate whole tables (incl. duplicate ids across batches) and write GE Data Docs HTML. "
        "Exit 1 if any expectation fails.",
    )
    validate.add_argument("--root", type=Path, help=ROOT_HELP)
    validate.add_argument("--table", action="append", help="only this table (repeatable)")
    validate.add_argument(
        "--docs-dir",
        type=Path,
        help="Data Docs folder (env CUECARD_AUDIT_DOCS_DIR; default $CUECARD_RUN_DIR/audit/data_docs)",
    )
    validate.set_defaults(func=_validate)

    query = actions.add_parser(
        "query",
        help="run a named query from sql/queries/ or ad-hoc SQL, read-only",
        description="Run NAME (a file in sql/queries/; --list shows them and their parameters) or --sql over the "
        "Delta tables with DataFusion. Only one SELECT/WITH statement is allowed. Tables: suggestions, turns, "
        "policy_decisions, feedback, dead_letters, quarantine. --param as_of_version=N or "
        "as_of_timestamp=ISO reads every table as of then.",
    )
    query.add_argument("name", nargs="?", help="named query (file stem in sql/queries/)")
    query.add_argument("--sql", help="ad-hoc SQL instead of a named query; :name placeholders take --param")
    query.add_argument("--param", action="append", default=[], metavar="K=V", help="parameter value (repeatable)")
    query.add_argument("--list", action="store_true", help="list the named queries and their parameters")
    query.add_argument("--root", type=Path, help=ROOT_HELP)
    out = query.add_mutually_exclusive_group()
    out.add_argument("--csv", type=Path, metavar="PATH", help="write the result as CSV instead of printing it")
    out.add_argument("--parquet", type=Path, metavar="PATH", help="write the result as Parquet instead of printing it")
    query.add_argument("--max-width", type=int, default=48, help="cut printed cells at this many characters")
    query.set_defaults(func=_query)


def _root(args: argparse.Namespace) -> Path:
    from auditlake.store import default_root

    return (args.root or default_root()).resolve()


def _lake(args: argparse.Namespace) -> Path:
    """The root of a lake that holds tables: checking a missing or empty one would report a clean "0 findings"."""
    from auditlake.store import lake_tables

    root = _root(args)
    if not lake_tables(root):
        state = "holds no audit table" if root.is_dir() else "is not a directory" if root.exists() else "does not exist"
        raise SettingsError(
            f"audit lake {root} {state}: pass --root or set CUECARD_AUDIT_DIR to the lake's directory "
            "(the one holding suggestions/, turns/, ...), or fill it with `cuecard audit write`"
        )
    return root


def _write(args: argparse.Namespace) -> int:
    from auditlake.writer import config_from_args, run_writer

    return run_writer(config_from_args(args), out=lambda line: print(line, flush=True))


def _verify(args: argparse.Namespace) -> int:
    from auditlake.verify import verify

    root = _lake(args)
    findings = verify(root, args.table)
    for finding in findings:
        print(finding)
    print(f"verify {root}: {len(findings)} finding{'s' if len(findings) != 1 else ''}")
    return 1 if findings else 0


def _vacuum(args: argparse.Namespace) -> int:
    from auditlake.verify import DEFAULT_RETENTION_HOURS, vacuum, verify

    root = _root(args)
    if args.retention_hours < DEFAULT_RETENTION_HOURS and not args.force:
        raise SettingsError(
            f"--retention-hours {args.retention_hours:g} is below {DEFAULT_RETENTION_HOURS:g}: a running writer's "
            "files could be deleted before their commit; pass --force if no writer runs"
        )
    findings = [] if args.force else verify(root)
    if findings and not args.dry_run:
        for finding in findings:
            print(finding)
        print("vacuum refused: verify has findings (orphaned files may be evidence); use --dry-run or --force")
        return 1
    vacuum(root, args.retention_hours, dry_run=args.dry_run)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from auditlake.validate import default_docs_dir, validate_tables

    docs = (args.docs_dir or default_docs_dir()).resolve()
    results = validate_tables(_lake(args), docs, args.table)
    for result in results:
        status = "ok" if result.success else "FAILED " + ", ".join(result.failed_expectations)
        print(f"{result.table}: {result.rows} rows, {result.failed_rows} failing: {status}")
    print(f"Data Docs: {docs / 'index.html'}")
    return 0 if all(r.success for r in results) else 1


def _query(args: argparse.Namespace) -> int:
    from auditlake.query import export, format_table, named_queries, run_adhoc, run_named
    from auditlake.sql import QueryError

    if args.list:
        for query in named_queries().values():
            print(f"{query.name}: {query.description}")
            for p in query.params:
                print(f"    --param {p.name}=<{p.type}>{' (optional)' if p.optional else ''}  {p.description}")
        return 0
    values = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"cuecard: error: --param {item!r} is not K=V", file=sys.stderr)
            return 2
        values[key.strip()] = value
    try:
        if args.sql and args.name:
            raise QueryError("give a query NAME or --sql, not both")
        if args.sql:
            result = run_adhoc(_lake(args), args.sql, values)
        elif args.name:
            result = run_named(_lake(args), args.name, values)
        else:
            raise QueryError("give a query NAME (see --list) or --sql")
    except QueryError as err:
        print(f"cuecard: error: {err}", file=sys.stderr)
        return 2
    if args.csv or args.parquet:
        path = args.csv or args.parquet
        export(result, path, "csv" if args.csv else "parquet")
        print(f"wrote {result.num_rows} rows to {path}")
    else:
        print(format_table(result, args.max_width))
    return 0
