"""Per-record logic of cuecard as plain, typed Python: validation, PII masking, scoring, coaching rules.

Nothing here imports pyflink: the Flink operators in `jobs/` are thin wrappers that call these
functions, so the same code runs in the live job, in replay, in the CLI and in unit tests.
"""
