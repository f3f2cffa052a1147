"""The `cuecard` command line: the local stack, feeding, scoring, auditing and benchmarks."""
