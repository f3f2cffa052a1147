"""OpenLineage emission for cuecard's jobs: which topics and tables each run read and wrote."""
