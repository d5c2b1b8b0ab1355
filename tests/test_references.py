"""The references page as a reader meets it: every entry tells itself apart from the others, no raw LaTeX, and each
dataset is credited to its own paper (the paper's mis-citations are listed as errata, not repeated)."""
from __future__ import annotations

import re
from collections import Counter

from pybtex.database import parse_file

from lib import data, paths

BIB = parse_file(str(paths.ROOT / "references.bib"))


def label(entry) -> tuple[str, str]:
    """What an author-year citation shows: the first author's last name, how many authors, and the year."""
    people = entry.persons.get("author", [])
    first = " ".join(people[0].last_names) if people else ""
    return f"{first} +{len(people) - 1}", entry.fields.get("year", "")


def test_no_two_entries_cite_alike():
    """Two entries with the same authors and year would both read "[Jeevan and Sethi, 2024]"."""
    counts = Counter(label(e) for e in BIB.entries.values())
    assert [k for k, n in counts.items() if n > 1] == []


def test_no_raw_latex_in_the_fields():
    latex = re.compile(r"\\(em|it|bf|textit|textbf|emph)\b")
    found = {key: name for key, e in BIB.entries.items() for name, value in e.fields.items() if latex.search(value)}
    assert found == {}


def test_every_dataset_cites_an_entry_and_stanford_cars_its_own_paper():
    for name in data.names():
        cite = data.spec(name).cite
        assert not cite or cite in BIB.entries, (name, cite)
    assert data.spec("stanford_cars").cite == "krause2013cars"
    assert "dehghan2017cars" in (paths.ROOT / "references.md").read_text()   # kept as an erratum

