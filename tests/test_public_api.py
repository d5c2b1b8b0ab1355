"""lib/ and bench/ use public APIs only: no private torch, torchvision or numpy members, no ctypes into libc, no
CPython internals. A torch upgrade must not be able to break the book silently."""
from __future__ import annotations

import re

import pytest

from lib import paths

SOURCES = sorted(p for folder in ("lib", "bench") for p in (paths.ROOT / folder).rglob("*.py"))

# module.attribute chains ending in an underscored member (dunders such as __version__ are public)
PRIVATE_MEMBER = re.compile(r"\b(torch|torchvision|v2|F|nn|np|numpy|PIL|Image|sys|os|multiprocessing|tv)"
                            r"(\.[A-Za-z]\w*)*\._(?!_)\w+")
PRIVATE_IMPORT = re.compile(r"^\s*(from\s+(torch|torchvision|numpy|PIL)[\w.]*\s+import\s+.*\b_(?!_)\w+"
                            r"|from\s+(torch|torchvision|numpy|PIL)(\.\w+)*\._\w+|import\s+(torch|torchvision)(\.\w+)*\._\w+)",
                            re.M)
LOW_LEVEL = re.compile(r"\bimport ctypes\b|\bctypes\.|\bmallopt\b|_storage_Use_Count|StorageWeakRef|sys\._getframe"
                       r"|\bgc\.get_referrers\b")


def offences(text: str) -> list[str]:
    found = [m.group(0) for pattern in (PRIVATE_MEMBER, PRIVATE_IMPORT, LOW_LEVEL) for m in pattern.finditer(text)]
    return found


def test_the_scan_sees_each_kind_of_private_use():
    for line in ("torch._C._storage_Use_Count(x)", "from torch.utils.data._utils.worker import _generate_state",
                 "space = v2.TrivialAugmentWide._AUGMENTATION_SPACE", "import ctypes", "np.core._multiarray_umath",
                 "from torchvision.transforms.v2._utils import _get_fill"):
        assert offences(line), line
    assert not offences("torch.__version__, torchvision.__version__, torch.random.fork_rng(devices=[])")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_no_private_api(path):
    assert not offences(path.read_text()), f"{path.relative_to(paths.ROOT)}: {offences(path.read_text())}"


def test_every_module_imports_without_posix_only_modules():
    """Windows has no fcntl, termios, pwd, grp or resource: with them hidden, every module of lib/, book/ and
    yourdata/ still imports (a package's ``__main__`` runs its command, so it is left out)."""
    import subprocess
    import sys

    script = ("import sys\n"
              "for name in ('fcntl', 'termios', 'pwd', 'grp', 'resource'):\n"
              "    sys.modules[name] = None\n"
              "import importlib, pkgutil, warnings, lib, book, yourdata\n"
              "warnings.simplefilter('ignore')\n"
              "names = [m.name for p in (lib, book, yourdata) for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')\n"
              "         if not m.name.endswith('.__main__')]\n"
              "for name in names:\n"
              "    importlib.import_module(name)\n"
              "print(len(names))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 30   # every module, not an empty walk
