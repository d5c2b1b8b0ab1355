"""The workshop page's computed parts: the session plan fits 2.5 hours and its execution minutes are the measured
chapter times; every exercise's solution is computed (from the records or torchvision's metadata), not typed."""
from __future__ import annotations

import math

import pandas as pd

from book import chapter, lowdata, workshop


def test_the_plan_fits_the_session_and_counts_measured_minutes():
    table = workshop.plan()
    assert table["minutes"].sum() <= workshop.SESSION_MINUTES
    measured = chapter.load_timings().query("profile == 'workshop'").set_index("chapter")["seconds"]
    for block, row in zip(workshop.SESSION, table.itertuples()):
        runs = len(block.exercises) + block.execute
        expected = block.minutes + (math.ceil(measured[block.chapter] / 60) * runs if runs else 0)
        assert row.minutes == expected, block.what
    assert {e for b in workshop.SESSION for e in b.exercises} == {e.key for e in workshop.EXERCISES}


def test_the_plan_follows_the_timings_file(monkeypatch):
    """A slower machine's timings make a longer plan: the minutes are read, not typed."""
    slow = chapter.load_timings().assign(seconds=lambda t: t["seconds"] * 10)
    monkeypatch.setattr(chapter, "load_timings", lambda *a: slow)
    assert workshop.plan()["minutes"].sum() > 0
    fast_total = sum(b.minutes for b in workshop.SESSION)
    assert workshop.plan()["minutes"].sum() > fast_total + 10


def test_the_drop_solution_is_the_records_arithmetic():
    runs, _ = workshop.workshop_records()
    ours = lowdata.from_records(runs)
    wide = ours.pivot(index="backbone", columns="fraction", values="top1")
    drop = wide[wide.columns.max()] - wide[wide.columns.min()]
    text = workshop._drop_solution(("mobilenet_v3_large", "swin_t"))
    assert f"MobileNetV3-Large loses {drop['mobilenet_v3_large']:.1f} points" in text
    assert f"Swin-Tiny loses {drop['swin_t']:.1f} points" in text


def test_the_solutions_change_with_the_records(monkeypatch):
    runs, demo = workshop.workshop_records()
    before = workshop._top_k_solution()
    shifted = runs.copy()
    best = lowdata.from_records(runs).query("fraction == fraction.min()").iloc[0]["backbone"]
    shifted.loc[(shifted["backbone"] == best) & (shifted["fraction"] == shifted["fraction"].min()), "test_top1"] = 0.0
    monkeypatch.setattr(workshop, "workshop_records", lambda: (shifted, demo))
    assert workshop._top_k_solution() != before


def test_exercises_and_times_render_as_markdown():
    text = workshop.exercises_markdown()
    assert text.count(":class: dropdown") == len(workshop.EXERCISES)
    assert "papermill" in text and "nan" not in text.lower()
    times = workshop.times_markdown()
    assert "re-training what it re-uses" in times and "nothing to train" in times
    assert isinstance(workshop.chapter_times(), pd.DataFrame)
