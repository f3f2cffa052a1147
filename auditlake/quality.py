"""Great Expectations suites of the audit tables and the per-batch quality gate.

The suites are plain data (`SUITES`), turned into GE 1.x expectations in an ephemeral context when the
gate is loaded. The gate runs one validation per table per micro-batch on a pandas frame and returns,
per row, the names of the expectations it failed, so the writer can quarantine those rows and commit
the rest. GE is imported in `load()`, never at import time (it takes ~2.5 s).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditlake.rows import PII_PATTERNS
from auditlake.tables import TABLES
from udfs.pii import luhn_valid
from udfs.schema_files import load_schema

MAX_LATENCY_MS = 60_000.0


@dataclass(frozen=True)
class Expect:
    """One expectation: GE class name, the column it checks and its other arguments."""

    kind: str
    column: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """The name quarantined rows carry, e.g. ExpectColumnValuesToBeInSet(status)."""
        return f"{self.kind}({self.column})"


def _not_null(*columns: str) -> list[Expect]:
    return [Expect("ExpectColumnValuesToNotBeNull", c) for c in columns]


def _in_set(column: str, values: Iterable[str | bool]) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", column, (("value_set", sorted(values)),))


def _between(column: str, low: float | None, high: float | None) -> Expect:
    return Expect("ExpectColumnValuesToBeBetween", column, (("min_value", low), ("max_value", high)))


def _unique(column: str) -> Expect:
    return Expect("ExpectColumnValuesToBeUnique", column)


# Card numbers are checked by Luhn, as the masker does: a regex alone flags the long order and
# reference numbers the masker rightly keeps (it quarantined ~10% of generated turns).
_REGEX_PII = [pattern for name, pattern in PII_PATTERNS.items() if name != "CARD"]
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")
CARD_SUFFIX = "__has_card_number"


def has_card_number(text: Any) -> bool:
    """Whether a text holds a 13-19 digit run (spaces or dashes allowed) that passes the Luhn check."""
    if not isinstance(text, str):
        return False
    return any(luhn_valid(re.sub(r"\D", "", run.group())) for run in _DIGIT_RUN.finditer(text))


def add_derived_columns(table: str, frame: Any) -> Any:
    """Add the computed columns a table's suite checks (card-number flags) to a pandas frame."""
    for expect in SUITES[table]:
        if expect.column.endswith(CARD_SUFFIX):
            frame[expect.column] = frame[expect.column.removesuffix(CARD_SUFFIX)].map(has_card_number)
    return frame


def _no_pii(column: str) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToNotMatchRegexList", column, (("regex_list", _REGEX_PII),)),
        _in_set(column + CARD_SUFFIX, [False]),
    ]


_STATUSES = ("shown", "blocked", "superseded", "shadow")
_COMMON_NOT_NULL = ("audit_id", "record_type", "conversation_id", "event_id", "event_ts", "created_at")

SUITES: dict[str, list[Expect]] = {
    "suggestions": [
        *_not_null(*_COMMON_NOT_NULL, "suggestion_id", "kind", "status", "confidence", "text"),
        _in_set("record_type", ["suggestion"]),
        _in_set("kind", load_schema("audit_record")["properties"]["kind"]["enum"]),
        _in_set("status", _STATUSES),
        _between("confidence", 0.0, 1.0),
        _between("latency_total_ms", 0.0, MAX_LATENCY_MS),
        _unique("audit_id"),
        *_no_pii("text"),
    ],
    "turns": [
        *_not_null(*_COMMON_NOT_NULL, "seq", "channel", "speaker", "masked_text", "input_sha256"),
        _in_set("record_type", ["turn"]),
        _in_set("channel", ["chat", "voice", "email"]),
        _in_set("speaker", ["customer", "agent", "system"]),
        _between("seq", 0, None),
        _between("intent_confidence", 0.0, 1.0),
        _between("sentiment", -1.0, 1.0),
        _between("escalation_risk", 0.0, 1.0),
        _between("compliance_risk", 0.0, 1.0),
        _unique("audit_id"),
        *_no_pii("masked_text"),
    ],
    "policy_decisions": [
        *_not_null("decision_id", "audit_id", "suggestion_id", "rule_id", "status"),
        _in_set("status", _STATUSES),
        _unique("decision_id"),
    ],
    "feedback": [
        *_not_null(*_COMMON_NOT_NULL, "suggestion_id", "agent_id", "action", "found"),
        _in_set("record_type", ["feedback"]),
        _in_set("action", ["accepted", "edited", "dismissed"]),
        _unique("audit_id"),
        *_no_pii("edited_text"),
    ],
    "dead_letters": [
        *_not_null("dlq_id", "error", "error_type", "source_topic", "source_offset", "failed_at"),
        _between("source_offset", 0, None),
        _unique("dlq_id"),
        *_no_pii("error"),
    ],
}


@dataclass(frozen=True)
class Outcome:
    """One expectation's result on a frame: success, and the failing row positions when GE gives them."""

    name: str
    success: bool
    unexpected_index: list[int] | None


@dataclass
class QualityReport:
    """Rows of a batch that failed, with the expectation names each failed; and what the check cost."""

    failures: dict[int, list[str]] = field(default_factory=dict)
    seconds: float = 0.0


def failed_rows(outcomes: Iterable[Outcome], n_rows: int) -> dict[int, list[str]]:
    """Row position -> failed expectation names; a failure without row positions fails every row."""
    failures: dict[int, list[str]] = {}
    for outcome in outcomes:
        if outcome.success:
            continue
        rows = range(n_rows) if outcome.unexpected_index is None else outcome.unexpected_index
        for index in rows:
            failures.setdefault(int(index), []).append(outcome.name)
    return failures


def split_rows(
    rows: Sequence[Mapping[str, Any]], failures: Mapping[int, list[str]]
) -> tuple[list[Mapping[str, Any]], list[tuple[Mapping[str, Any], list[str]]]]:
    """Rows that passed, and (row, failed names) of those that did not, both in input order."""
    passed = [row for i, row in enumerate(rows) if i not in failures]
    failed = [(row, failures[i]) for i, row in enumerate(rows) if i in failures]
    return passed, failed


def build_suite(gx: Any, table: str) -> Any:
    """The GE ExpectationSuite of a table (named after it)."""
    suite = gx.ExpectationSuite(name=table)
    for expect in SUITES[table]:
        cls = getattr(gx.expectations, expect.kind)
        suite.add_expectation(cls(column=expect.column, **dict(expect.kwargs)))
    return suite


def import_gx() -> Any:
    """Import great_expectations quietly (no analytics, no progress bars)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def ephemeral_context(gx: Any) -> Any:
    """An in-memory GE context with progress bars off."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def outcomes_of(result: Any) -> list[Outcome]:
    """Outcomes from a GE validation result (an expectation that raised counts as failed on every row)."""
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        name = f"{_class_name(config.type)}({config.kwargs['column']})"
        raised = bool((item.exception_info or {}).get("raised_exception"))
        index = None if raised else item.result.get("unexpected_index_list")
        outcomes.append(
            Outcome(
                name,
                success=bool(item.success) and not raised,
                unexpected_index=None if index is None else list(index),
            )
        )
    return outcomes


def _class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


class QualityGate:
    """Runs each table's suite on every micro-batch before commit (call `load()` once first)."""

    def __init__(self) -> None:
        self._definitions: dict[str, Any] = {}

    def load(self) -> QualityGate:
        """Create the ephemeral GE context, the suites and one validation definition per table."""
        gx = import_gx()
        context = ephemeral_context(gx)
        source = context.data_sources.add_pandas("audit_batches")
        for table in SUITES:
            batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("micro_batch")
            suite = context.suites.add(build_suite(gx, table))
            self._definitions[table] = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{table}_batch", data=batch, suite=suite)
            )
        return self

    def check(self, table: str, rows: Sequence[Mapping[str, Any]]) -> QualityReport:
        """Validate a table's batch rows; tables without a suite (quarantine) pass as they are."""
        if table not in self._definitions or not rows:
            return QualityReport()
        import pandas as pd

        started = time.perf_counter()
        frame = add_derived_columns(table, pd.DataFrame.from_records(list(rows), columns=TABLES[table].column_names))
        result = self._definitions[table].run(
            batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}
        )
        return QualityReport(failed_rows(outcomes_of(result), len(rows)), time.perf_counter() - started)
