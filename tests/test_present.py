"""book.present: how numbers and tables read."""
from __future__ import annotations


def test_numbers_read_as_the_prose_writes_them():
    """book.present's one formatting rule: one decimal by default, thousands separated alike, a dash for missing."""
    import numpy as np

    from book import present

    assert present.fmt_number(97.12345) == "97.1" and present.fmt_number(np.float64(0.666667), 2) == "0.67"
    assert present.fmt_number(1440) == "1,440" and present.fmt_number(18900) == "18,900"
    assert present.fmt_number(1500.0, 0) == "1,500" and present.fmt_number(float("nan")) == present.DASH
    assert present.fmt_number(True) == "yes" and present.fmt_number("text") == "text"
