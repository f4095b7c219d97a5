"""``python -m bench [name ...] [--size small|full]`` (``make bench ARGS=...``)."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from .harness import REGISTRY, BenchContext, bench_database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench ARGS=", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--size", choices=["small", "full"], default="full")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    os.environ.setdefault("DATABASE_URL", bench_database_url())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cippusers.settings")
    import django

    django.setup()
    package = importlib.import_module("bench")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("bench_"):
            importlib.import_module(f"bench.{module.name}")

    if args.list:
        for name in sorted(REGISTRY):
            print(name)
        return 0
    unknown = [name for name in args.names if name not in REGISTRY]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}",
            file=sys.stderr,
        )
        return 2
    context = BenchContext(size=args.size)
    for name in args.names or sorted(REGISTRY):
        print(
            f"# {name} ({args.size}) on {os.environ['DATABASE_URL'].split('@')[-1]}",
            file=sys.stderr,
            flush=True,
        )
        REGISTRY[name](context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
