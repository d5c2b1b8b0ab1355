"""The workshop page's computed parts: how long each chapter takes (re-reading the records and re-training them),
a timed plan for a 2.5-hour session built from the measured chapter times, and exercises whose solutions are
computed from the committed records (never typed).

The plan's reading and discussion minutes are choices of the plan, stated in :data:`SESSION`; the minutes of
every execution come from ``results/book/timings.csv`` (``make timings PROFILE=workshop``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from book import chapter as chapter_lib
from lib import paths, profiles, results
from book import present

SESSION_MINUTES = 150


@dataclass(frozen=True)
class Exercise:
    """One exercise: a chapter run with one parameter changed, and the question the class predicts first."""

    key: str
    chapter: str
    title: str
    question: str
    parameters: dict
    solution: callable  # () -> Markdown text computed from the committed records or metadata


@dataclass(frozen=True)
class Block:
    """One block of the session: ``minutes`` of reading or discussion (the plan's choice), plus the measured time
    of executing ``chapter`` once per listed exercise (and once more when ``execute`` is set)."""

    what: str
    minutes: int
    chapter: str | None = None
    execute: bool = False
    exercises: tuple[str, ...] = ()


# The session, in order. Reading and discussion minutes are the plan's; execution minutes are measured.
SESSION = (
    Block("Welcome: the paper's question, its answer (the first page), and what **paper** and **ours** mean", 10),
    Block("Check that every laptop has built the book (`make book` before the session)", 5),
    Block("Chapter 1: the selection rule, then exercise 1", 15, "01_selection", exercises=("selection",)),
    Block("Chapter 2: the datasets and how a split is made (read together)", 10, "02_datasets"),
    Block("Chapter 3: DualOpt and the workshop runs (read; the runs are re-used, not trained)", 20,
          "03_fine_tuning", execute=True),
    Block("Break", 10),
    Block("Chapter 4: less data; exercises 2 and 3", 25, "04_low_data", exercises=("top_k", "drop")),
    Block("Chapter 6: which of the paper's claims hold, on its numbers and on ours", 15, "06_findings"),
    Block("Chapter 7: the same question on your own images (the demo search, re-used)", 15, "07_your_data",
          execute=True),
    Block("Wrap-up: what the workshop numbers can and cannot say about the paper", 10),
)


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def workshop_records():
    """The committed workshop records of chapters 3 and 4, and chapter 7's demo records."""
    runs = results.load_records(paths.RECORDS)
    runs = runs[runs["profile"] == "workshop"] if len(runs) else runs
    demo_dir = paths.demo("workshop")
    demo = results.load_records(demo_dir) if demo_dir.is_dir() else runs.iloc[0:0]
    return runs, demo


def retrained_by_chapter() -> dict[str, object]:
    """Per chapter, the records it re-uses that it would train itself if they were missing (a frame), or
    ``None`` for a chapter that trains nothing. Chapter 3 trains the profile's fraction, chapter 4 the smaller
    ones of its ``low_data``, chapter 7 the demo search."""
    prof = profiles.get("workshop")
    runs, demo = workshop_records()
    return {"03_fine_tuning": runs[runs["fraction"] == prof.run.fraction],
            "04_low_data": runs[runs["fraction"].isin([f for f in prof.low_data if f != prof.run.fraction])],
            "07_your_data": demo}


def chapter_times():
    """One row per chapter: its measured time under ``workshop`` and ``ci`` (re-reading the records) and what
    re-training the records it re-uses took (their own ``wall_time_s``)."""
    import pandas as pd

    retrain = retrained_by_chapter()
    rows = []
    for nb in chapter_lib.chapters():
        table = chapter_lib.time_to_run(nb.stem).set_index("profile")
        records = retrain.get(nb.stem)
        rows.append({"chapter": chapter_lib.title(nb), "workshop": table.loc["workshop", "time"],
                     "ci": table.loc["ci", "time"],
                     "re-training what it re-uses": "nothing to train" if records is None else
                     chapter_lib.format_seconds(float(records["wall_time_s"].sum())) + f" ({len(records)} runs)"})
    return pd.DataFrame(rows)


def devices() -> str:
    """The machines the chapter times and the records were measured on."""
    runs, demo = workshop_records()
    timings = chapter_lib.load_timings()
    names = set(timings.loc[timings["profile"] == "workshop", "device"]) | set(runs["device"]) | set(demo["device"])
    return "; ".join(sorted(str(n) for n in names if isinstance(n, str) and n))


def plan():
    """The session as a table: start, minutes, what; execution minutes from the measured chapter times."""
    import pandas as pd

    timings = chapter_lib.load_timings()
    measured = timings[timings["profile"] == "workshop"].set_index("chapter")["seconds"]
    rows, start = [], 0
    for block in SESSION:
        runs = len(block.exercises) + (1 if block.execute else 0)
        run_minutes = _minutes(float(measured[block.chapter])) * runs if runs else 0
        minutes = block.minutes + run_minutes
        note = f"{block.minutes} plan" + (f" + {run_minutes} measured ({runs}× the chapter)" if runs else "")
        rows.append({"start": f"{start // 60}:{start % 60:02d}", "what": block.what, "minutes": minutes,
                     "of which": note})
        start += minutes
    return pd.DataFrame(rows)


# --- exercises and their computed solutions -----------------------------------------------------------

def _selection_solution(max_params_m: float = 10.0) -> str:
    from book import selection

    reg = selection.registry()
    table2 = selection.paper_table2()
    added = selection.paper_additions(table2, reg)
    default = selection.apply_rule(selection.candidates(reg, "entries", "docs"))
    strict = selection.apply_rule(selection.candidates(reg, "entries", "docs"), max_params_m=max_params_m)
    picks = lambda marked: sorted(set(marked.loc[marked["selected"], "family"]))
    kept, before = picks(strict), picks(default)
    return (f"With a {max_params_m:g} M budget the rule picks {selection.counts(strict, added)['selected_by_rule']} "
            f"torchvision models (the paper's 30 M: {selection.counts(default, added)['selected_by_rule']}), from "
            f"the families {', '.join(kept)}. Dropped: {', '.join(f for f in before if f not in kept) or 'none'} "
            "(**ours**, torchvision's metadata).")


def _ours_low_data():
    from book import lowdata

    runs, _ = workshop_records()
    return lowdata.from_records(runs)


def _top_k_solution() -> str:
    from book import lowdata

    ours = _ours_low_data()
    lines = []
    for k in (1, 3, 5):
        row = lowdata.retention_vs_chance(ours[["backbone", "dataset", "fraction", "top1"]], k=k,
                                          reference=None).iloc[0]
        lines.append(f"k = {k}: {int(row['kept'])} of {k} kept at {row['fraction']:.0%} of the training images "
                     f"(a random re-ranking keeps {row['chance_kept']:.1f} on average)")
    return ("On the committed workshop records (**ours**, ranked by the mean over seeds): " + "; ".join(lines) +
            ". Chance retention grows as k²/n, so a larger k is kept more easily by luck alone; chapter 4 says how "
            "much of this the seeds' noise allows.")


def _drop_solution(pair=("mobilenet_v3_large", "swin_t")) -> str:
    ours = _ours_low_data()
    wide = ours.pivot(index="backbone", columns="fraction", values="top1")
    full, low = max(wide.columns), min(wide.columns)
    drop = (wide[full] - wide[low]).sort_values()
    said = "; ".join(f"{present.backbone_name(b)} loses {drop[b]:.1f} points" for b in pair)
    return (f"From {full:.0%} to {low:.0%} of the training images (**ours**, mean over seeds): {said}. Of all "
            f"eleven, {present.backbone_name(drop.index[-1])} loses most ({drop.iloc[-1]:.1f} points) and "
            f"{present.backbone_name(drop.index[0])} least ({drop.iloc[0]:.1f}).")


EXERCISES = (
    Exercise("selection", "01_selection", "A stricter selection rule",
             "The paper keeps backbones under 30 M parameters with at least 75 % ImageNet top-1. How many torchvision "
             "models does the rule pick with a 10 M budget, and which families survive?",
             {"max_params_m": 10}, _selection_solution),
    Exercise("top_k", "04_low_data", "How many top backbones keep their lead?",
             "With 10 % of the training images, does the top-1 backbone stay first more or less often than the top "
             "three stay in the top three? Run it with k = 1, then k = 5.",
             {"k": 1}, _top_k_solution),
    Exercise("drop", "04_low_data", "Does less data hurt every backbone alike?",
             "Which loses more accuracy from the whole training split to 10 % of it: the small MobileNetV3-Large or "
             "the transformer Swin-Tiny? (Trains nothing: both are re-used from the records.)",
             {"backbones": "mobilenet_v3_large,swin_t"}, _drop_solution),
)


def exercises_markdown() -> str:
    """The exercises as Markdown: question, the command, what to expect, and a collapsed computed solution."""
    measured = chapter_lib.load_timings()
    measured = measured[measured["profile"] == "workshop"].set_index("chapter")["seconds"]
    parts = []
    for number, ex in enumerate(EXERCISES, start=1):
        command = chapter_lib.papermill_command(ex.chapter, "workshop", ex.parameters,
                                                output=f"out/{ex.chapter[:2]}.ipynb")
        command = command.replace(" -p profile workshop", "").replace(" -k ", " \\\n    -k ")
        took = chapter_lib.format_seconds(float(measured[ex.chapter])) if ex.chapter in measured else "not measured"
        parts.append(
            f"{number}. **{ex.title}** ({{doc}}`chapters/{ex.chapter}`). {ex.question} Write the prediction "
            f"down, then run\n\n   ```bash\n   {command.replace(chr(10), chr(10) + '   ')}\n   ```\n\n"
            f"   Expect the chapter to take about {took} (measured, **ours**) and to train nothing new.\n\n"
            f"   :::{{admonition}} Solution (computed when this page was built)\n   :class: dropdown\n"
            f"   {ex.solution()}\n   :::\n")
    return "\n".join(parts)


def times_markdown() -> str:
    """The chapter-times table with both figures, and the machines they were measured on."""
    table = chapter_times()
    return (present.markdown(table) + f"\n\nMeasured on {devices()} (**ours**). The workshop and ci columns "
            "re-read the committed records; the last column is what the class waits for after deleting them "
            "(`results/runs/`, `results/demo/`): the training time stored in each record.\n")


def plan_markdown() -> str:
    table = plan()
    total = int(table["minutes"].sum())
    return (present.markdown(table) + f"\n\nIn all {total} minutes of the {SESSION_MINUTES} (**ours**: the "
            "execution minutes are the measured chapter times, rounded up; the reading and discussion minutes are the "
            "plan's). Chapter 5 measures this machine's speed and chapter 8 reads the measurements of `make bench`: both are for "
            "reading after the session.\n")
