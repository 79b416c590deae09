"""Entry point of `python -m bench` (what `make bench` runs)."""

import sys

from bench.cli import main

sys.exit(main())
