"""lib/, book/, yourdata/, bench/ and tests/ use public APIs only: no private torch, torchvision or numpy members, no
ctypes into libc, no CPython internals. A torch upgrade must not be able to break the book silently.

The scan reads each file's syntax tree (strings and comments are not code) and refuses:

* a private member of code that is not ours: ``x._name`` where ``x`` is imported from outside the repository
  (a module, or a class or function imported from one), directly or down an attribute chain
  (``torchvision.models.densenet._DenseLayer``, ``torch.hub._hub_dir``, ``torch._C``), or an object such a class
  made (``Flowers102(root)._labels``, or ``train._labels`` after ``train = datasets.DTD(root)``); ``from x import
  _name``;
  a private module on the way (``import torch._C``, ``from torch.utils.data._utils import ...``); and the same
  names given as text to ``setattr`` / ``getattr`` / ``hasattr`` / ``delattr`` (``monkeypatch.setattr(torch.hub,
  "_hub_dir", ...)``, ``monkeypatch.setattr("torch.hub._hub_dir", ...)``);
* a dunder attribute other than :data:`PUBLIC_DUNDERS`, on anything but ``self`` (our own object):
  ``DualOptState.__dataclass_fields__`` (use ``dataclasses.fields``), ``module.__dict__`` (use ``vars``);
* low-level access: ``ctypes``, and the names in :data:`LOW_LEVEL_NAMES`.

Our own underscored names (``self._x``, ``results._canonical``, a test monkeypatching ``sources._helper``) are fine.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lib import paths

FOLDERS = ("lib", "book", "yourdata", "bench", "tests")
SOURCES = sorted(p for folder in FOLDERS for p in (paths.ROOT / folder).rglob("*.py"))

# Top-level names of our own code: the packages and the test folder's helper modules (native_fixtures, ...).
OURS = frozenset(FOLDERS) | {p.stem for p in (paths.ROOT / "tests").glob("*.py")}
# The dunders that are documented, stable attributes (a module's or class's identity, the constructor and call).
PUBLIC_DUNDERS = frozenset({"__name__", "__qualname__", "__module__", "__doc__", "__file__", "__path__",
                            "__version__", "__class__", "__init__", "__call__"})
LOW_LEVEL_MODULES = frozenset({"ctypes"})
# glibc's malloc knobs, torch's storage internals, CPython's reference graph
LOW_LEVEL_NAMES = frozenset({"mallopt", "StorageWeakRef", "get_referrers", "get_referents", "getrefcount"})
ATTRIBUTE_FUNCTIONS = frozenset({"setattr", "getattr", "hasattr", "delattr"})   # also monkeypatch.setattr, ...
# a named tuple's documented methods are underscored so that they cannot clash with a field's name
NAMEDTUPLE_METHODS = frozenset({"_replace", "_asdict", "_make", "_fields", "_field_defaults"})


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in NAMEDTUPLE_METHODS


def dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def outside(module: str) -> bool:
    """``module`` (dotted) is not ours: third-party or the standard library."""
    return module.split(".")[0] not in OURS


def root_name(node: ast.expr) -> str | None:
    """The name a chain starts at: ``torch`` for ``torch.hub._hub_dir``, ``datasets`` for
    ``datasets.DTD(root)._labels``. A call is followed only into a class (a capitalised name): what a function such
    as ``pickle.loads`` returns may be ours. None when the chain does not start at a name."""
    while True:
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            node = node.elt
        elif isinstance(node, ast.Call) and called(node)[:1].isupper():
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        else:
            return node.id if isinstance(node, ast.Name) else None


def called(node: ast.Call) -> str:
    """``DTD`` for ``datasets.DTD(root)``, ``setattr`` for ``monkeypatch.setattr(...)``."""
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def foreign_names(tree: ast.AST) -> set[str]:
    """The names a file binds to something from outside the repository: imported (``torch``, ``np``, ``v2``,
    ``CIFAR10``), or assigned what such a name gives (``train = datasets.DTD(root)``, so ``train._labels`` is
    refused too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if outside(a.name)}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and outside(node.module):
            names |= {a.asname or a.name for a in node.names}
    assignments = [(target, node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   for target in node.targets]
    while True:   # until no assignment adds a name (``a = torch.x(); b = a.y``)
        before = len(names)
        for target, value in assignments:
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
                pairs = zip(target.elts, value.elts)
            else:
                pairs = [(t, value) for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
            names |= {t.id for t, v in pairs if isinstance(t, ast.Name) and root_name(v) in names}
        if len(names) == before:
            return names


def offences(text: str) -> list[str]:
    """``line: code`` of every forbidden use in the Python source ``text``."""
    tree = ast.parse(text)
    foreign = foreign_names(tree)
    found = []

    def offence(node: ast.AST, what: str | None = None) -> None:
        found.append(f"{node.lineno}: {what or ast.unparse(node)}")

    def is_foreign(node: ast.expr) -> bool:
        return root_name(node) in foreign

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if outside(a.name) and (any(map(private, parts)) or parts[0] in LOW_LEVEL_MODULES):
                    offence(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and outside(node.module):
            parts = node.module.split(".")
            if (any(map(private, parts)) or parts[0] in LOW_LEVEL_MODULES
                    or any(private(a.name) or a.name in LOW_LEVEL_NAMES for a in node.names)):
                offence(node)
        elif isinstance(node, ast.Attribute):
            if private(node.attr) and is_foreign(node.value):
                offence(node)
            elif dunder(node.attr) and node.attr not in PUBLIC_DUNDERS and root_name(node) != "self":
                offence(node)
            elif node.attr in LOW_LEVEL_NAMES:
                offence(node)
        elif isinstance(node, ast.Call) and node.args:
            if called(node) not in ATTRIBUTE_FUNCTIONS:
                continue
            target, name = node.args[0], node.args[1] if len(node.args) > 1 else None
            if isinstance(target, ast.Constant) and isinstance(target.value, str):   # monkeypatch's "a.b.c" form
                parts = target.value.split(".")
                if len(parts) > 1 and outside(target.value) and any(
                        private(p) or dunder(p) and p not in PUBLIC_DUNDERS for p in parts):
                    offence(node)
            elif isinstance(name, ast.Constant) and isinstance(name.value, str) and root_name(target) != "self":
                if (private(name.value) and is_foreign(target)
                        or dunder(name.value) and name.value not in PUBLIC_DUNDERS):
                    offence(node)
    return found


SNIPPETS = {
    "private member": "import torch\nstate = torch._C._get_tracing_state()\n",
    "private member down a chain": "import torchvision\nlayer = torchvision.models.densenet._DenseLayer\n",
    "private member of an imported module": "from torch import hub\nhub._hub_dir = None\n",
    "private member of an imported class": "from torchvision.transforms.v2 import TrivialAugmentWide as T\n"
                                           "space = T._AUGMENTATION_SPACE\n",
    "private member of an aliased module": "import numpy as np\nnp.core._multiarray_umath\n",
    "private standard-library member": "import sys\nframe = sys._getframe(1)\n",
    "private name imported": "from torchvision.datasets.utils import _read_pfm\n",
    "private module imported": "from torch.utils.data._utils.worker import get_worker_info\n",
    "private module imported whole": "import torch._dynamo\n",
    "private member set by name": "import torch\n\n\ndef test(monkeypatch):\n"
                                  "    monkeypatch.setattr(torch.hub, '_hub_dir', None)\n",
    "private member set by path": "def test(monkeypatch):\n    monkeypatch.setattr('torch.hub._hub_dir', None)\n",
    "private member of a third-party object": "from torchvision.datasets import Flowers102\n"
                                              "labels = Flowers102('.')._labels\n",
    "private member of a variable holding one": "from torchvision import datasets\n"
                                                "train, test = (datasets.DTD('.', s) for s in ('train', 'test'))\n"
                                                "pairs = test._image_files\n",
    "private member read by name": "from torchvision import datasets\nurl = getattr(datasets.DTD, '_URL')\n",
    "dunder internals": "from lib.train import DualOptState\nnames = set(DualOptState.__dataclass_fields__)\n",
    "dunder of a module": "import torch\nnames = list(torch.__dict__)\n",
    "dunder read by name": "import dataclasses\nfields = getattr(dataclasses.make_dataclass('A', []), "
                           "'__dataclass_fields__')\n",
    "ctypes": "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\n",
    "ctypes imported from": "from ctypes import CDLL\n",
    "malloc knobs": "import os\nos.mallopt(1, 0)\n",
    "storage internals": "from torch.multiprocessing.reductions import StorageWeakRef\n",
    "reference graph": "import gc\nholders = gc.get_referrers(object())\n",
}

ALLOWED = ("import dataclasses\nimport pickle\nimport torch\nimport torchvision\nfrom urllib.parse import SplitResult\n"
           "from lib import results\nfrom lib.train import DualOptState\n"
           "from book import lowdata as _lowdata\n\n\n"
           "class Cache:\n    def __getstate__(self):\n        return {**self.__dict__, 'maps': {}}\n\n\n"
           "def test(monkeypatch, m):\n"
           "    monkeypatch.setattr(results, '_canonical', repr)        # ours\n"
           "    monkeypatch.setattr('lib.results._canonical', repr)     # ours, by path\n"
           "    versions = torch.__version__, torchvision.__version__, type(m).__name__, m.__class__.__name__\n"
           "    names = [f.name for f in dataclasses.fields(DualOptState)]\n"
           "    folder, draws = torch.hub.get_dir(), _lowdata._resample\n"
           "    super().__init__()\n"
           "    clone = pickle.loads(pickle.dumps(m))                  # may be ours: not followed\n"
           "    url = SplitResult('https', 'host', '/', '', '')._replace(path='/x')   # a named tuple's method\n"
           "    cached = clone._array\n"
           "    text = 'torch._C and import ctypes, in a string, are not code'\n")


@pytest.mark.parametrize("kind", SNIPPETS)
def test_the_scan_sees_each_kind_of_private_use(kind, tmp_path):
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPETS[kind])
    assert offences(path.read_text()), f"{kind}: {SNIPPETS[kind]!r}"


def test_the_scan_lets_public_and_our_own_names_pass(tmp_path):
    path = tmp_path / "allowed.py"
    path.write_text(ALLOWED)
    assert offences(path.read_text()) == []


def test_the_scan_covers_every_folder():
    assert {p.relative_to(paths.ROOT).parts[0] for p in SOURCES} == set(FOLDERS)
    assert Path(__file__).resolve() in {p.resolve() for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_no_private_api(path):
    found = offences(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(paths.ROOT)}: {found}"


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
