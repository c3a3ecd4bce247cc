"""Benchmarks of the writer service, run as `python -m bench.<name>` (see bench/README.md).

Benchmarks are not tests: they measure, print and clean up after themselves; they assert nothing.
"""
