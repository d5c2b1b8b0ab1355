"""Fixtures shared by several test files: the book built once per session with the `ci` profile."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lib import book


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Execute every chapter (ci profile) and render the book once; ``(out folder, html folder)``.

    ``WB_BUILT_BOOK=<folder>`` re-uses a ci build made by ``python -m lib.book --profile ci --out <folder>``
    instead (to iterate on the rendering tests); unset, the session builds its own.
    """
    if os.environ.get("WB_BUILT_BOOK"):
        out = Path(os.environ["WB_BUILT_BOOK"])
        return out, out / "html"
    out = tmp_path_factory.mktemp("book")
    html = book.build(profile="ci", out=out)
    return out, html
