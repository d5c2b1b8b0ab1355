"""Fixtures shared by several test files: the book built once per session with the `ci` profile, and the
workshop book as `make book` makes it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from book import build
from lib import paths


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Execute every chapter (ci profile) and render the book once; ``(out folder, html folder)``.

    ``WB_BUILT_BOOK=<folder>`` re-uses a ci build made by ``python -m book --profile ci --out <folder>``
    instead (to iterate on the rendering tests); unset, the session builds its own.
    """
    if os.environ.get("WB_BUILT_BOOK"):
        out = Path(os.environ["WB_BUILT_BOOK"])
        return out, out / "html"
    out = tmp_path_factory.mktemp("book")
    html = build.build(profile="ci", out=out)
    return out, html


@pytest.fixture(scope="session")
def built_workshop_book():
    """The book exactly as ``make book`` makes it (workshop profile, into ``_build/``), once per session.

    Like ``make book`` it executes only the chapters whose inputs changed, so after a ``make book`` this costs the
    rendering alone; on a fresh clone it executes every chapter once (a few minutes, re-using the committed records).
    """
    out = paths.BUILD
    return out, build.build(profile="workshop", out=out)
