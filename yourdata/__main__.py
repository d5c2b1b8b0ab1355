"""``python -m yourdata <folder or csv>``: which backbone for your images, within a time budget (see yourdata)."""
import sys

from yourdata import main

sys.exit(main())
