"""Benchmarks (``make bench``): figures printed as JSON lines and appended to bench-results.jsonl.

Not tests: they measure, print and record. Each benchmark module registers functions with
``@benchmark(name)``; ``python -m bench [name ...] [--size small|full]`` runs them.
"""
