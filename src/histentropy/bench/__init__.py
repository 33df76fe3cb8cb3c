"""`histentropy bench`: histentropy against scipy, side by side in one run.

Each suite is a module of this package (``histentropy.bench.<name>``) with a
function ``run(quick: bool) -> list[Row]``; what they share (the timer, the
peak-memory probe, the row type and the table) is in `_common`.
"""
import argparse
import importlib
import importlib.util
import sys

from histentropy.bench._common import (
    Row,
    best_time,
    compare,
    format_table,
    peak_memory,
)

SUITES = ("dense", "sparse", "logits", "streaming", "family", "pairwise", "joint", "dask")

__all__ = ["Row", "SUITES", "best_time", "compare", "format_table", "main",
           "peak_memory"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="histentropy bench",
        description="Time histentropy against scipy on synthetic data, in one run.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and shorter timings (a smoke run)")
    parser.add_argument("--suite", action="append", choices=SUITES,
                        help="run only these suites (repeatable); default: all")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also draw ns/element against n for each CPU path "
                             "and scipy (needs matplotlib: the 'bench' extra)")
    args = parser.parse_args(argv)
    for module, why in (("scipy", "histentropy bench"),
                        ("matplotlib", "--plot") if args.plot else (None, None)):
        if module is not None and importlib.util.find_spec(module) is None:
            parser.error(f"{why} needs {module}: pip install 'histentropy[bench]' "
                         "(the 'bench' extra)")
    rows = []
    for name in args.suite or SUITES:
        suite = importlib.import_module(f"histentropy.bench.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        suite_rows = suite.run(quick=args.quick)
        rows.extend(suite_rows)
    print(format_table(rows))
    if args.plot:
        from histentropy.bench.dense import plot

        plot(args.plot, quick=args.quick)
        print(f"plot written to {args.plot}")
    return 0

