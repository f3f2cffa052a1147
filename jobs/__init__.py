"""Long-running processes of cuecard: the PyFlink jobs, the feeder and the audit lake writer.

The coaching pipeline is defined once (`jobs.pipeline`) with its sources and sinks injected, so the
live job, replay and the tests run the same operators.
"""
