"""Benchmarks run only on request:

    pytest benchmarks --benchmark-enable

Each histentropy case is timed next to its scipy reference in the same run and
grid; compare the groups' means (pytest-benchmark prints them side by side).
"""
