"""``python -m lib.train``: one run, or a grid with ``python -m lib.train grid`` (the command line is lib.cli)."""
import sys

from lib.cli import main

sys.exit(main())
