"""requirements.txt resolves on the three platforms a workshop meets: Linux x86_64, macOS arm64, Windows amd64.

For each platform, pip resolves the pins that apply there without installing anything (``pip install --dry-run
--no-deps --only-binary=:all: --platform ...``): every pin must have a wheel for that platform, and the pins must
hold every dependency the resolved wheels declare there. pip's ``--platform`` does not evaluate environment markers,
so this test evaluates them for the target itself (``packaging.markers``) and hands pip only the lines that apply.
A pin installed here from a pure-Python wheel (``*-none-any``, about 130 of them) is the same file everywhere, so pip
is asked only about the others (about 40 per platform), the three platforms at once; the dependency check covers
every pin. It asks the package index, as ``python -m lib.setup`` does.
"""
from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from lib import paths, setup

PYTHON = ".".join(map(str, setup.PYTHON))   # the oldest Python the pins allow, as lib.setup checks it


@dataclass(frozen=True)
class Target:
    """One platform: the wheel platform tags pip may take, and the values its environment markers see."""

    platforms: tuple[str, ...]
    sys_platform: str
    platform_system: str
    os_name: str
    platform_machine: str

    def markers(self, extra: str = "") -> dict:
        return {"sys_platform": self.sys_platform, "platform_system": self.platform_system, "os_name": self.os_name,
                "platform_machine": self.platform_machine, "python_version": PYTHON.rsplit(".", 1)[0],
                "python_full_version": PYTHON, "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "platform_release": "", "platform_version": "",
                "implementation_version": PYTHON, "extra": extra}


TARGETS = {
    # glibc 2.28 or later (torch's Linux wheel is manylinux_2_28); pip does not widen a manylinux_2_x tag itself
    "linux-x86_64": Target(tuple(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1))
                           + ("manylinux2014_x86_64",), "linux", "Linux", "posix", "x86_64"),
    # macOS 14 or later on Apple silicon (torch's macOS wheel); pip widens it to the older macOS tags
    "macos-arm64": Target(("macosx_14_0_arm64",), "darwin", "Darwin", "posix", "arm64"),
    "windows-amd64": Target(("win_amd64",), "win32", "Windows", "nt", "AMD64"),
}


def pinned_lines() -> list[str]:
    lines = (paths.ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def applicable(target: Target) -> list[str]:
    """The lines of requirements.txt whose markers hold on ``target``, without their markers (pip would
    evaluate them for the machine it runs on, not for ``target``)."""
    return [line.split(";")[0].strip() for line in pinned_lines()
            if (marker := Requirement(line).marker) is None or marker.evaluate(target.markers())]


def test_every_line_is_an_exact_pin():
    for line in pinned_lines():
        specs = list(Requirement(line).specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not pinned exactly: {line}"


def test_cuda_only_packages_are_left_out_off_linux():
    """The lines that used to stop a macOS or Windows install (nvidia-*, cuda-*, triton) apply on Linux only."""
    cuda = [line.split(";")[0].strip() for line in pinned_lines() if line.startswith(("nvidia-", "cuda-", "triton"))]
    assert len(cuda) >= 17
    for name in ("macos-arm64", "windows-amd64"):
        assert not set(cuda) & set(applicable(TARGETS[name])), name
    assert set(cuda) <= set(applicable(TARGETS["linux-x86_64"]))


def pure_here() -> dict[str, dict]:
    """The pins installed here, at the pinned version, from a pure-Python wheel (tag ``*-none-any``): that wheel
    is the same file on every platform, so only its metadata is needed (name -> metadata as in pip's report)."""
    pure = {}
    for line in pinned_lines():
        req = Requirement(line)
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        tags = [row.split(":", 1)[1].strip() for row in (dist.read_text("WHEEL") or "").splitlines()
                if row.startswith("Tag:")]
        if req.specifier.contains(dist.version) and tags and all(tag.endswith("-none-any") for tag in tags):
            pure[canonicalize_name(req.name)] = {"name": dist.metadata["Name"], "version": dist.version,
                                                 "requires_dist": dist.requires or []}
    return pure


def platform_lines(target: Target, pure: dict) -> list[str]:
    """The applicable pins that pip must resolve for ``target``: all but the pure-Python wheels installed here."""
    return [line for line in applicable(target) if canonicalize_name(Requirement(line).name) not in pure]


@pytest.fixture(scope="module")
def pure():
    found = pure_here()
    assert len(found) > 100, "the venv running the tests was not installed from requirements.txt"
    return found


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory, pure):
    """Start one pip dry run per platform, all at once; each test waits for its own."""
    runs = {}
    for name, target in TARGETS.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / "requirements.txt").write_text("\n".join(platform_lines(target, pure)) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                   "--only-binary=:all:", *(arg for tag in target.platforms for arg in ("--platform", tag)),
                   "--python-version", PYTHON, "--implementation", "cp", "--abi", "cp" + "".join(PYTHON.split(".")[:2]),
                   "--target", str(folder / "target"), "--report", str(folder / "report.json"), "--quiet",
                   "--disable-pip-version-check", "-r", str(folder / "requirements.txt")]
        runs[name] = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), folder)
    yield runs
    for process, _ in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def unmet(metadata: list[dict], target: Target) -> list[str]:
    """Every dependency (with the extras its dependents ask for) that the pinned set lacks on ``target``."""
    pins = {canonicalize_name(m["name"]): m for m in metadata}
    missing, todo, seen = [], [(name, "") for name in pins], set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for text in pins[name].get("requires_dist", []):
            req = Requirement(text)
            applies = req.marker is None or req.marker.evaluate(target.markers(extra))
            if extra:   # only what the extra adds: the rest was checked with extra ""
                applies = applies and req.marker is not None and not req.marker.evaluate(target.markers())
            if not applies:
                continue
            dep = pins.get(canonicalize_name(req.name))
            if dep is None or not req.specifier.contains(Version(dep["version"]), prereleases=True):
                missing.append(f"{pins[name]['name']} needs {text}")
                continue
            todo.extend((canonicalize_name(req.name), wanted) for wanted in req.extras)
    return missing


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_pins_resolve_for_each_platform(dry_runs, pure, name):
    target = TARGETS[name]
    process, folder = dry_runs[name]
    _, err = process.communicate()
    errors = [line for line in err.splitlines() if line.startswith("ERROR")]
    assert process.returncode == 0, f"{name}: pip could not resolve the pins: {' '.join(errors) or err[-2000:]}"
    report = [item["metadata"] for item in json.loads((folder / "report.json").read_text())["install"]]
    wanted = {(canonicalize_name(r.name), next(iter(r.specifier)).version)
              for r in map(Requirement, platform_lines(target, pure))}
    assert {(canonicalize_name(m["name"]), m["version"]) for m in report} == wanted
    on_target = report + [m for key, m in pure.items() if key in {canonicalize_name(Requirement(line).name)
                                                                     for line in applicable(target)}]
    assert len(on_target) == len(applicable(target))
    assert unmet(on_target, target) == []


def test_a_missing_dependency_is_found():
    """The dependency check is not vacuous: pytest without colorama is incomplete on Windows, not on Linux."""
    pytest_meta = {"name": "pytest", "version": "9.2.0", "requires_dist": ['colorama>=0.4; sys_platform == "win32"',
                                                                            "pluggy<2,>=1.5"]}
    pluggy = {"name": "pluggy", "version": "1.7.0", "requires_dist": []}
    assert unmet([pytest_meta, pluggy], TARGETS["linux-x86_64"]) == []
    assert unmet([pytest_meta, pluggy], TARGETS["windows-amd64"]) == [
        'pytest needs colorama>=0.4; sys_platform == "win32"']
    torch = {"name": "torch", "version": "2", "requires_dist": ['cuda-toolkit[cublas]==13; platform_system == "Linux"']}
    toolkit = {"name": "cuda-toolkit", "version": "13", "requires_dist": ['nvidia-cublas; extra == "cublas"']}
    assert unmet([torch, toolkit], TARGETS["linux-x86_64"]) == ['cuda-toolkit needs nvidia-cublas; extra == "cublas"']
    assert unmet([torch, toolkit], TARGETS["macos-arm64"]) == []
