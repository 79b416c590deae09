"""Command line entry point: ``python -m simulator --help``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
