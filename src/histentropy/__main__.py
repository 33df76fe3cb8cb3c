"""Command line: ``histentropy bench`` (also ``python -m histentropy bench``)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: histentropy bench [--quick] [--suite NAME] ...\n\n"
              "commands:\n  bench   time histentropy against scipy and print a table")
        return 0 if argv else 2
    if argv[0] != "bench":
        print(f"histentropy: unknown command {argv[0]!r} (try 'histentropy bench')",
              file=sys.stderr)
        return 2
    from histentropy.bench import main as bench_main
    return bench_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
