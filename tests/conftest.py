"""Fixtures shared by several test files: the book built once per session with the `ci` profile."""
from __future__ import annotations

import pytest

from lib import book


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Execute every chapter (ci profile) and render the book once; ``(out folder, html folder)``."""
    out = tmp_path_factory.mktemp("book")
    html = book.build(profile="ci", out=out)
    return out, html
