"""``python -m lib.setup``: the book's virtual environment, on Linux, macOS and Windows alike.

Creates ``.venv`` (when missing), installs the pinned ``requirements.txt`` into it, installs ``lib`` editable
(so ``import lib`` works from any folder) and registers the Jupyter kernel ``which-backbone`` inside the venv.
Nothing is done again while ``requirements.txt``, ``pyproject.toml`` and this file are older than the venv's
stamp. ``make setup`` runs this module, so this is the one description of the set-up.

It runs from a fresh clone, before any of the book's dependencies are installed: standard library only.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

from lib import paths   # standard library only, like this module

KERNEL = "which-backbone"
KERNEL_DISPLAY = "Which Backbone? (.venv)"
STAMP = ".setup-done"
INPUTS = ("requirements.txt", "pyproject.toml", "lib/setup.py")   # a newer one makes the set-up run again
PYTHON = (3, 11, 5)   # the oldest Python the pins install on (soupsieve needs 3.11.5)


def venv_python(folder: Path, windows: bool = os.name == "nt") -> Path:
    """The venv's interpreter: ``bin/python`` on Linux and macOS, ``Scripts\\python.exe`` on Windows."""
    return folder / ("Scripts/python.exe" if windows else "bin/python")


def is_current(folder: Path, root: Path = paths.ROOT) -> bool:
    """True when the venv's stamp is newer than every input of the set-up."""
    stamp = folder / STAMP
    if not stamp.exists() or not venv_python(folder).exists():
        return False
    return all((root / name).stat().st_mtime <= stamp.stat().st_mtime for name in INPUTS)


def steps(python: Path, root: Path = paths.ROOT) -> list[list[str]]:
    """The commands that fill the venv whose interpreter is ``python``, in order."""
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return [
        [*pip, "-r", str(root / "requirements.txt")],
        [*pip, "--no-deps", "--no-build-isolation", "--editable", str(root)],
        [str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL, "--display-name",
         KERNEL_DISPLAY],
    ]


def setup(folder: Path, root: Path = paths.ROOT, log=print) -> Path:
    """Create and fill the venv at ``folder`` unless it is current; return its interpreter."""
    python = venv_python(folder)
    if is_current(folder, root):
        log(f"{folder} is up to date")
        return python
    if not python.exists():
        log(f"creating {folder}")
        venv.EnvBuilder(with_pip=True).create(folder)
    for command in steps(python, root):
        log("$ " + " ".join(command))
        subprocess.run(command, check=True, cwd=root, stdout=subprocess.DEVNULL if "ipykernel" in command else None)
    (folder / STAMP).touch()
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.setup", description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=".venv", help="the venv's folder (default: .venv in the repository)")
    args = parser.parse_args(argv)
    if sys.version_info[:3] < PYTHON:
        print(f"error: Python {'.'.join(map(str, sys.version_info[:3]))} is too old: the pins need Python "
              f"{'.'.join(map(str, PYTHON))} or a later 3.11; run this with python3.11", file=sys.stderr)
        return 2
    folder = Path(args.venv)
    folder = folder if folder.is_absolute() else paths.ROOT / folder
    try:
        python = setup(folder)
    except subprocess.CalledProcessError as err:
        print(f"error: {' '.join(err.cmd[:4])} ... failed with exit status {err.returncode} (its output is "
              f"above); fix that and run python -m lib.setup again", file=sys.stderr)
        return 2
    shown = os.path.relpath(python, Path.cwd()) if python.is_relative_to(Path.cwd()) else python
    print(f"ready: {shown} -m book renders the book, {shown} -m pytest runs the tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
