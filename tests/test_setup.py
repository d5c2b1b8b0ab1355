"""``python -m lib.setup``: the one cross-platform set-up command (``make setup`` runs it too). It must run from
a fresh clone, before any dependency is installed, so it may use the standard library alone."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import paths, setup


def test_imports_only_the_standard_library():
    """lib.setup, and lib.paths which it imports (through lib/__init__.py, which imports nothing)."""
    for module in ("setup", "paths", "__init__"):
        tree = ast.parse((paths.ROOT / "lib" / f"{module}.py").read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module + ("" if node.module != "lib" else "." + alias.name) for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.level == 0 for alias in node.names}
        outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names | {"__future__"}}
        assert outside <= {"lib.paths"}, (module, outside)


def test_runs_without_site_packages():
    """``python -S`` sees no installed package at all, as on a fresh machine."""
    out = subprocess.run([sys.executable, "-S", "-m", "lib.setup", "--help"], cwd=paths.ROOT, capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr
    assert "--venv" in out.stdout


def test_the_venv_interpreter_on_each_os():
    assert setup.venv_python(Path("v"), windows=True) == Path("v/Scripts/python.exe")
    assert setup.venv_python(Path("v"), windows=False) == Path("v/bin/python")


def test_the_makefile_runs_lib_setup():
    """One description of the set-up: make's recipe is this module, and nothing else installs anything."""
    makefile = (paths.ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "-m lib.setup --venv $(VENV)" in recipe and "pip install" not in makefile
    assert all(name in recipe.splitlines()[0] for name in setup.INPUTS)


def fake_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in setup.INPUTS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    return root


def test_fills_the_venv_once_and_again_when_an_input_changes(tmp_path, monkeypatch):
    root, folder = fake_repo(tmp_path), tmp_path / "venv"
    commands = []
    monkeypatch.setattr(setup.venv, "EnvBuilder", lambda **kw: type("B", (), {"create": lambda self, f: (
        setup.venv_python(Path(f)).parent.mkdir(parents=True), setup.venv_python(Path(f)).touch())})())
    monkeypatch.setattr(setup.subprocess, "run", lambda command, **kw: commands.append(command))
    python = setup.setup(folder, root, log=lambda _: None)
    assert python == setup.venv_python(folder) and python.exists() and (folder / setup.STAMP).exists()
    assert [c[3:5] for c in commands] == [["install", "--quiet"], ["install", "--quiet"], ["install", "--sys-prefix"]]
    assert commands[0][-2:] == ["-r", str(root / "requirements.txt")]
    assert commands[2][-4:-2] == ["--name", setup.KERNEL]
    assert setup.is_current(folder, root)

    setup.setup(folder, root, log=lambda _: None)
    assert len(commands) == 3                                   # up to date: nothing run

    stamp = (folder / setup.STAMP).stat().st_mtime
    os.utime(root / "requirements.txt", (stamp + 10, stamp + 10))
    assert not setup.is_current(folder, root)
    setup.setup(folder, root, log=lambda _: None)
    assert len(commands) == 6


def test_a_failing_step_leaves_no_stamp_and_says_what_to_do(tmp_path, monkeypatch, capsys):
    root, folder = fake_repo(tmp_path), tmp_path / "venv"
    setup.venv_python(folder).parent.mkdir(parents=True)
    setup.venv_python(folder).touch()

    def fail(command, **kw):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(setup.subprocess, "run", fail)
    monkeypatch.setattr(setup.paths, "ROOT", root)
    assert setup.main(["--venv", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "run python -m lib.setup again" in err and len(err.strip().splitlines()) == 1
    assert not (folder / setup.STAMP).exists()


@pytest.mark.parametrize("version", [(3, 10, 12), (3, 11, 4)])
def test_too_old_a_python_is_refused(monkeypatch, capsys, version):
    monkeypatch.setattr(sys, "version_info", version)
    assert setup.main([]) == 2
    assert "is too old" in capsys.readouterr().err
