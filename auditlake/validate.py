"""`cuecard audit validate`: run each table's Great Expectations suite on the whole table, write Data Docs.

Unlike the per-batch gate this sees every row, so it also catches duplicate ids across batches. Results
go to GE Data Docs (HTML) in a folder, default $CUECARD_RUN_DIR/audit/data_docs (env CUECARD_AUDIT_DOCS_DIR).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable

from auditlake.quality import (
    SUITES,
    add_derived_columns,
    build_suite,
    ephemeral_context,
    failed_rows,
    import_gx,
    outcomes_of,
)
from auditlake.store import to_pyarrow
from udfs.settings import load_settings


def default_docs_dir() -> Path:
    """CUECARD_AUDIT_DOCS_DIR, else audit/data_docs in the run dir (CUECARD_RUN_DIR, default .run)."""
    return load_settings().audit_docs_dir.resolve()


@dataclass(frozen=True)
class TableValidation:
    """Result of one table: rows checked, rows failing, and the names of failed expectations."""

    table: str
    rows: int
    failed_rows: int
    failed_expectations: tuple[str, ...]

    @property
    def success(self) -> bool:
        """No expectation failed."""
        return not self.failed_expectations


def validate_tables(root: Path, docs_dir: Path, tables: list[str] | None = None) -> list[TableValidation]:
    """Validate whole tables with their suites; Data Docs are written to docs_dir (index.html)."""
    gx = import_gx()
    context = ephemeral_context(gx)
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        site_name="cuecard_audit",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("audit_tables")
    results = []
    for table in tables or list(SUITES):
        path = root / table
        if table not in SUITES or not DeltaTable.is_deltatable(str(path)):
            continue
        frame = add_derived_columns(table, to_pyarrow(DeltaTable(str(path)).to_pyarrow_table()).to_pandas())
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole_table")
        suite = context.suites.add(build_suite(gx, table))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{table}_table", data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{table}_checkpoint",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                result_format={"result_format": "COMPLETE"},
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        outcomes = [o for result in run.run_results.values() for o in outcomes_of(result)]
        failures = failed_rows(outcomes, len(frame))
        failed_names = tuple(sorted({o.name for o in outcomes if not o.success}))
        results.append(TableValidation(table, len(frame), len(failures), failed_names))
    return results
