"""The live coaching job: Kafka sources -> `jobs.pipeline` -> Java-side fan-out -> Kafka sinks.

Submitted to the cluster by `cuecard job submit` (`flink run -py jobs/coaching_job.py`); it reads its
settings from the same `CUECARD_*` env vars as every other cuecard process.
"""

from __future__ import annotations

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from jobs.kafka_io import (
    COACHED_VIEW,
    KEYED_INPUTS,
    KEYED_TABLE,
    REFERENCE_INPUTS,
    REFERENCE_TABLE,
    sink_ddl,
    sink_specs,
    source_ddl,
)
from jobs.pipeline import build_pipeline, input_streams
from udfs.settings import load_settings


def main() -> None:
    """Build the job graph and submit it (detached when run through `flink run -d`)."""
    settings = load_settings()
    config = Configuration()
    config.set_string("pipeline.name", settings.job_name)
    # The client needs the connector on its classpath to plan the Kafka tables, the cluster to run them.
    config.set_string("pipeline.jars", settings.connector_jar.as_uri())
    config.set_string("execution.checkpointing.interval", f"{settings.checkpoint_interval_ms}ms")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(settings.parallelism)
    t_env = StreamTableEnvironment.create(env)
    t_env.execute_sql(source_ddl(settings, KEYED_TABLE, KEYED_INPUTS, group_id=settings.job_name))
    t_env.execute_sql(source_ddl(settings, REFERENCE_TABLE, REFERENCE_INPUTS, group_id=settings.job_name))
    coached = build_pipeline(*input_streams(t_env), settings)
    t_env.create_temporary_view(COACHED_VIEW, t_env.from_data_stream(coached))
    statements = t_env.create_statement_set()
    for spec in sink_specs(settings):
        t_env.execute_sql(sink_ddl(settings, spec, settings.job_name))
        statements.add_insert_sql(spec.insert_sql())
    statements.attach_as_datastream()
    env.execute(settings.job_name)


if __name__ == "__main__":
    main()
