"""``python -m book``: execute the chapters whose inputs changed and render the book (see book.build)."""
import sys

from book.build import main

sys.exit(main())
