"""A chapter's parameters, declared once and checked on entry.

Each chapter declares its parameters in its ``parameters`` cell, with a type annotation and a default (what
``papermill --help-notebook`` prints). The chapter's first code cell then calls :func:`check`, which

- refuses a parameter the chapter does not declare (papermill itself only warns, and runs on);
- accepts what a papermill command line means: ``-p seeds 0`` injects the integer 0 where text is declared,
  ``-p fractions 0.1`` a float, ``-y '[0, 1]'`` a list; a comma-separated text is a list where a list is declared;
- checks each value's range or allowed names (:data:`RULES`), and fails with one line naming the parameter.

``0`` is a value, not "unset": a text parameter's empty string and a number's declared default are what mean "the
profile's choice", as each chapter's comment says.
"""
from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from lib import wavemix
from lib.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """What a parameter's value may be, beyond its type: a test and the words that say what is allowed."""

    ok: Callable[[object], bool]
    allowed: str


def _names(*choices: str) -> Rule:
    return Rule(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices))


def _profiles() -> Rule:
    from lib import profiles

    return _names(*profiles.names())


def _at_least(low: float) -> Rule:
    return Rule(lambda v: v >= low, f"a number of at least {low:g}")


def _share(allow_zero: bool) -> Rule:
    return Rule(lambda v: (0 <= v <= 1) if allow_zero else (0 < v <= 1),
                "a share in [0, 1] (0: the profile's)" if allow_zero else "a share in (0, 1]")


def _multiple() -> Rule:
    """A square side every backbone takes: a multiple of WaveMix's (lib.wavemix.SIDE_MULTIPLE), at least that."""
    m = wavemix.SIDE_MULTIPLE
    return Rule(lambda v: v >= m and v % m == 0, f"a multiple of {m}, at least {m}")


def _side() -> Rule:
    multiple = _multiple()
    return Rule(lambda v: v == 0 or multiple.ok(v), f"0 (the profile's) or {multiple.allowed}")


def _device(value: str) -> bool:
    return value in ("", "auto", "cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit())


def _each(rule: Rule) -> Rule:
    return Rule(lambda values: all(rule.ok(v) for v in values), f"a list of {rule.allowed}")


def _seeds_text(value: str) -> bool:
    return value == "" or all(part.strip().isdigit() for part in value.split(","))


def _shares_text(value: str) -> bool:
    try:
        return value == "" or all(0 < float(part) <= 1 for part in value.split(","))
    except ValueError:
        return False


# One rule per parameter name, shared by every chapter that declares it (each fact once).
RULES: dict[str, Callable[[], Rule]] = {
    "profile": _profiles,
    "device": lambda: Rule(_device, "auto, cpu, cuda, cuda:N, mps or '' (the profile's)"),
    "executor": lambda: _names("local", "ray"),
    "pretrained": lambda: _names("", "yes", "no"),
    "seeds": lambda: Rule(_seeds_text, "comma-separated whole numbers of 0 or more, or '' (the profile's)"),
    "fractions": lambda: Rule(_shares_text, "comma-separated shares in (0, 1], or '' (the profile's)"),
    "fraction": lambda: _share(allow_zero=True),
    "probe_fraction": lambda: _share(allow_zero=False),
    "utilisation": lambda: _share(allow_zero=False),
    "max_epochs": lambda: _at_least(0),
    "batch_size": lambda: _at_least(0),
    "image_size": _side,
    "time_size": _side,
    "input_size": _multiple,
    "k": lambda: _at_least(1),
    "top_k": lambda: _at_least(1),
    "resamples": lambda: _at_least(1),
    "probe_epochs": lambda: _at_least(1),
    "epochs": lambda: _at_least(1),
    "budget_minutes": lambda: Rule(lambda v: v > 0, "a number of minutes above 0"),
    "peak_tflops": lambda: Rule(lambda v: v > 0, "a number above 0"),
    "max_params_m": lambda: Rule(lambda v: v > 0, "a number of millions above 0"),
    "min_top1": lambda: Rule(lambda v: 0 <= v <= 100, "a percentage in [0, 100]"),
}


@dataclass(frozen=True)
class Declared:
    """One parameter as the chapter's ``parameters`` cell declares it."""

    name: str
    kind: str  # the annotation: str, int, float, bool or list
    default: object


def declared(source: str) -> dict[str, Declared]:
    """The annotated assignments of a ``parameters`` cell, in order."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            kind = ast.unparse(node.annotation)
            out[node.target.id] = Declared(node.target.id, kind, ast.literal_eval(node.value))
    return out


def _text(value) -> str:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError


def coerce(kind: str, value):
    """``value`` as the declared ``kind``, where it means the same thing; TypeError or ValueError otherwise."""
    if kind == "str":
        return _text(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise TypeError
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        if isinstance(value, str):
            value = float(value.strip()) if "." in value else int(value.strip())
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
        if isinstance(value, (int, float)):
            return int(value)
        raise TypeError
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
        raise TypeError
    if kind == "list":
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [value]
        raise TypeError
    raise TypeError


_KIND_WORDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false",
               "list": "a list (or comma-separated text)"}


def injected_names() -> list[str]:
    """The names papermill injected into this kernel (its ``# Parameters`` cell, read from IPython's input
    history); empty outside a papermill run."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = shell.user_ns.get("In", []) if shell is not None else []
    names = []
    for source in history:
        if isinstance(source, str) and source.lstrip().startswith("# Parameters"):
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def check(chapter: str, namespace: dict, injected: list[str] | None = None) -> dict:
    """Every parameter of ``chapter``, checked and converted to its declared type; raises one ConfigError line.

    ``namespace`` is the chapter's ``globals()``; ``injected`` the names papermill injected (read from the
    kernel's history by default). A chapter calls ``globals().update(parameters.check(...))``.
    """
    from book import chapter as chapter_lib

    stem = chapter_lib.notebook_path(chapter).stem
    spec = declared(chapter_lib.parameter_source(chapter))
    unknown = [n for n in (injected_names() if injected is None else injected) if n not in spec]
    if unknown:
        raise ConfigError(f"chapter {stem} has no parameter {', '.join(map(repr, unknown))}: its parameters are "
                          f"{', '.join(spec)} (papermill --help-notebook chapters/{stem}.ipynb)")
    values = {}
    for name, item in spec.items():
        value = namespace.get(name, item.default)
        try:
            value = coerce(item.kind, value)
        except (TypeError, ValueError):
            raise ConfigError(f"parameter {name}={value!r} of chapter {stem}: expected {_KIND_WORDS.get(item.kind, item.kind)}"
                              f" (default {item.default!r})") from None
        if name in RULES and not (item.kind == "list" and not value):
            rule = RULES[name]()
            if item.kind == "list":
                rule = _each(rule)
            if not rule.ok(value):
                raise ConfigError(f"parameter {name}={value!r} of chapter {stem} is not allowed: use {rule.allowed}")
        values[name] = value
    return values


# The run parameters: one declaration, copied verbatim into the parameters cell of every chapter that trains
# (chapters 3 and 4; tests/test_parameters.py checks the copies), so that a subset or a cap means the same
# everywhere and `make book DATASETS=... BACKBONES=... SEEDS=...` reaches each of them.
RUN_PARAMETERS = '''\
backbones: str = ""  # comma-separated backbones, or all (eleven); empty: the profile's
datasets: str = ""  # comma-separated names (lib.data.names()); empty: the profile's
seeds: str = ""  # comma-separated seeds, e.g. 0 or 0,1,2; empty: the profile's
device: str = ""  # auto, cpu, cuda, cuda:N or mps; empty: the profile's
pretrained: str = ""  # yes (ImageNet weights) or no (random init); empty: the profile's
max_epochs: int = 0  # cap on AdamW + SGD epochs; 0: the profile's (paper: none)
image_size: int = 0  # square side in pixels, a multiple of 32; 0: the profile's
batch_size: int = 0  # images per step; 0: the profile's
data_root: str = ""  # folder with one sub-folder per dataset; empty: WB_DATA or data/
executor: str = "local"  # local (one run after another, here) or ray (see scale_out)
ray_address: str = ""  # executor ray: a Ray cluster's address; empty: start Ray here
'''


def plan_arguments(values: dict) -> dict:
    """The keyword arguments of ``config.plan`` that the run parameters (checked by :func:`check`) stand for;
    an empty text or a 0 is the profile's choice, as the declaration says."""
    return {"backbones": values["backbones"] or None, "datasets": values["datasets"] or None,
            "seeds": values["seeds"] or None, "data_root": values["data_root"] or None,
            "device": values["device"] or None,
            "pretrained": {"yes": True, "no": False}.get(values["pretrained"]),
            "max_epochs": values["max_epochs"] or None, "image_size": values["image_size"] or None,
            "batch_size": values["batch_size"] or None}
