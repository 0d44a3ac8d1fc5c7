"""Benchmarks: what a call, a bulk lookup, an import and a generation cost against the floor.

    python -m benchmarks            # everything, a few minutes on 2 cores (`nox -s bench`)
    python -m benchmarks --full     # also 100,000 ids in the growth curve
    python -m benchmarks --only percall,imports

Every HTTP contender talks to the same loopback sandbox server, run in its own process.
Results: one table printed and written to benchmarks/results.md (with benchmarks/growth.png).
"""
