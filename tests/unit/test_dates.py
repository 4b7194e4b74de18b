from __future__ import annotations

from datetime import date

import pytest

from graphmem.extract.dates import normalise_date

ANCHOR = date(2024, 3, 13)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 1998", ("1998-01-01", "year")),
        ("March 2019", ("2019-03-01", "month")),
        ("14 March 2022", ("2022-03-14", "day")),
        ("March 14, 2022", ("2022-03-14", "day")),
        ("2023-05-10", ("2023-05-10", "day")),
        ("spring 2019", ("2019-03-01", "month")),
        ("yesterday", ("2024-03-12", "day")),
        ("last year", ("2023-01-01", "year")),
        ("two weeks ago", ("2024-02-28", "day")),
        ("next month", ("2024-04-01", "month")),
        ("last Monday", ("2024-03-11", "day")),
        ("last September", ("2023-09-01", "month")),
        ("February", ("2024-02-01", "month")),
        ("in October", ("2023-10-01", "month")),
        ("31 February 2020", ("2020-02-01", "month")),  # no such day: the month still stands
    ],
)
def test_dates_normalise_against_an_anchor(text: str, expected: tuple[str, str]) -> None:
    assert normalise_date(text, ANCHOR) == expected


def test_relative_dates_need_an_anchor() -> None:
    assert normalise_date("yesterday") is None
    assert normalise_date("a very long time") is None
