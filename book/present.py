"""How the book shows things to a reader: display names, one palette, tables that fit, one-line logs.

Every chapter's tables and figures go through here, so that a backbone is called "ConvNeXt-Tiny" (never
``convnext_tiny``) and has the same colour on every page, a table has no index column and no ``NaN``, an accuracy
has one decimal, and a path is shown relative to the repository. Figures get their number and caption from the
cell's ``mystnb.figure`` metadata (see ``CONTRIBUTING.md``); this module gives them their colours and labels.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from lib import data, models, paths

DASH = "–"  # what an empty cell shows
# Colour-blind-safe colours (Okabe and Ito's eight, then three of Paul Tol's), one per backbone in the
# registry's order (the paper's Table 2): a backbone keeps its colour in every figure of the book.
BACKBONE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                    "#882255", "#999933", "#AA4499")
DOMAIN_COLOURS = {"natural": "#4477AA", "texture": "#CCBB44", "surface_defects": "#BBBBBB",
                  "remote_sensing": "#228833", "plant": "#66CCEE", "astronomy": "#AA3377", "medical": "#EE6677",
                  "workshop": "#777777", "overall": "#000000"}
NAME_COLUMNS = ("backbone", "dataset", "domain")  # columns whose values are code ids a reader should not see


def backbone_name(name: str) -> str:
    """``convnext_tiny`` -> ``ConvNeXt-Tiny`` (the paper's Table 2 spelling); an unknown name is returned as is."""
    return models.spec(name).display if name in models.names() else name


def dataset_name(name: str) -> str:
    """``cifar10`` -> ``CIFAR-10``; an unknown name is returned as is."""
    return data.spec(name).display if name in data.names() else name


def domain_name(name: str) -> str:
    """``remote_sensing`` -> ``remote sensing``."""
    return str(name).replace("_", " ")


def display_name(column: str, value):
    """The reader's name for a value of a ``backbone``, ``dataset`` or ``domain`` column."""
    if not isinstance(value, str):
        return value
    return {"backbone": backbone_name, "dataset": dataset_name, "domain": domain_name}[column](value)


def backbone_palette() -> dict[str, str]:
    """Backbone display name -> colour, the same on every page (for ``hue=`` on display names)."""
    return {backbone_name(n): c for n, c in zip(models.names(), BACKBONE_COLOURS)}


def colour(backbone: str) -> str:
    """The colour of one backbone, by code id or display name."""
    palette = backbone_palette()
    return palette.get(backbone) or palette[backbone_name(backbone)]


def domain_colour(domain: str) -> str:
    return DOMAIN_COLOURS.get(domain, DOMAIN_COLOURS.get(str(domain).replace(" ", "_"), "#777777"))


def readable(frame, names: dict | None = None):
    """A copy of ``frame`` with display names in its name columns (and index levels) and ``names`` as headers."""
    import pandas as pd

    out = frame.copy()
    for column in NAME_COLUMNS:
        if column in out.columns:
            out[column] = out[column].map(lambda v, c=column: display_name(c, v))
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_levels([[display_name(n, v) for v in level] if n in NAME_COLUMNS else level
                                          for n, level in zip(out.index.names, out.index.levels)])
    elif out.index.name in NAME_COLUMNS:
        out.index = out.index.map(lambda v: display_name(out.index.name, v))
    return out.rename(columns=names or {})


def fmt_number(value, decimals: int = 1) -> str:
    """One number as a reader sees it: ``decimals`` places, a dash for a missing value, integers as integers."""
    import numpy as np
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and decimals == 0
                                                 and float(value).is_integer()):
        return f"{int(value):,}"   # 1,440 and 18,900 alike, as the prose writes them
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.{decimals}f}"
    return str(value)


def table(frame, columns: list[str] | None = None, names: dict | None = None, decimals: int | dict = 1,
          caption: str | None = None, csv: str | None = None, index: bool = False):
    """``frame`` as a reader's table: the chosen ``columns`` under the ``names`` headers, display names for code
    ids, numbers to ``decimals`` places (a dict per column), a dash for a missing value, no index column (unless
    ``index`` keeps a meaningful one, such as backbones in rows).

    With ``csv`` (a file name), the whole ``frame`` (every column, raw values) is offered below the table as a
    CSV download, so a table can show only what its paragraph talks about and still lose nothing.
    """
    from IPython.display import HTML

    shown = frame if columns is None else frame[list(columns)]
    shown = readable(shown, names)
    per_column = decimals if isinstance(decimals, dict) else {}
    default = decimals if isinstance(decimals, int) else 1
    header_names = names or {}
    places = {header_names.get(c, c): d for c, d in per_column.items()}
    styler = shown.style.format(lambda v: fmt_number(v, default))
    for column, d in places.items():
        if column in shown.columns:
            styler = styler.format(lambda v, d=d: fmt_number(v, d), subset=[column])
    styler = styler.format_index(lambda v: fmt_number(v, default), axis=0)
    if not index:
        styler = styler.hide(axis="index")
    styler = styler.set_table_attributes('class="dataframe table"')   # the theme's table style
    if caption:
        styler = styler.set_caption(caption)
    markup = styler.to_html()
    if csv:
        markup += csv_link(frame, csv)
    return HTML(markup)


def csv_link(frame, filename: str, text: str = "the whole table as CSV") -> str:
    """An HTML link that downloads ``frame`` as ``filename``; the data travels inside the page (no file to copy)."""
    payload = base64.b64encode(frame.to_csv(index=False).encode()).decode()
    name = html.escape(Path(filename).name)
    return (f'<p class="wb-download"><a download="{name}" href="data:text/csv;base64,{payload}">'
            f"Download {html.escape(text)} ({name})</a></p>")


def markdown(frame, decimals: int = 1) -> str:
    """``frame`` as a Markdown table for a generated page, formatted as :func:`table` formats (display names, a
    dash for a missing value, ``decimals`` places), without the index."""
    shown = readable(frame)
    head = "| " + " | ".join(map(str, shown.columns)) + " |\n|" + " --- |" * len(shown.columns)
    body = ["| " + " | ".join(fmt_number(v, decimals).replace("|", "\\|") for v in row) + " |"
            for row in shown.itertuples(index=False)]
    return "\n".join([head] + body)


def shown_path(path) -> str:
    """``path`` relative to the repository when it lies inside it, else its last two parts: never a build
    machine's absolute path in reader text."""
    path, shown = Path(path), paths.relative(path)
    if not Path(shown).is_absolute():
        return shown
    return "…/" + "/".join(path.parts[-2:]) if len(path.parts) > 2 else path.as_posix()


def runs_line(status) -> str:
    """One line for a run plan's status table (``config.plan_status``): "33 runs re-used, 0 trained"."""
    counts = status["status"].value_counts()
    reused = int(counts.get("recorded", 0))
    trained = int(len(status) - reused)
    return f"{reused} run{'s' if reused != 1 else ''} re-used, {trained} trained"


def labelled_lines(ax, frame, x: str, y: str, label: str = "backbone", **kwargs) -> None:
    """One line per backbone on ``ax`` in the book's palette, labelled with its display name for the legend."""
    for name, part in frame.groupby(label, sort=False):
        part = part.sort_values(x)
        shown = backbone_name(name)
        ax.plot(part[x], part[y], color=colour(shown), label=shown, **kwargs)


# --- h2 (chapters 4 and 6): code ids inside a sentence --------------------------------------------------

def readable_text(text):
    """A computed sentence (a check's evidence, a claim's reason) with every backbone and dataset code id and
    every ``snake_case`` domain replaced by the name a reader knows: ``"best resnet50 on tiny_imagenet"`` ->
    ``"best ResNet-50 on Tiny ImageNet"``. Non-strings are returned as they are."""
    import re

    if not isinstance(text, str):
        return text
    names = {n: backbone_name(n) for n in models.names()}
    names.update({n: dataset_name(n) for n in data.names() if n != "digits"})  # "digits" is also a word
    names.update({d: domain_name(d) for d in DOMAIN_COLOURS if "_" in d})
    pattern = re.compile(r"(?<![A-Za-z0-9_/.-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_/-])")
    return pattern.sub(lambda m: names[m.group(1)], text)
