"""Date expressions to ISO dates, absolute ("March 2019") or relative to an anchor ("last year").

Pure functions. A result is (ISO date, precision) with precision "day", "month" or "year";
a month or year is given as its first day.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "few": 3,
}  # fmt: skip
SEASON_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>1[0-9]{3}|20[0-9]{2})"
_DAY = r"(?P<day>[0-3]?[0-9])(?:st|nd|rd|th)?"
_NUM = r"(?P<n>\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

_ABSOLUTE = [
    (re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"), "day"),
    (re.compile(rf"\b{_DAY}(?: of)? {_MONTH},? {_YEAR}\b", re.I), "day"),
    (re.compile(rf"\b{_MONTH} {_DAY},? {_YEAR}\b", re.I), "day"),
    (re.compile(rf"\b{_MONTH},? {_YEAR}\b", re.I), "month"),
    (re.compile(rf"\b(?P<season>spring|summer|autumn|fall|winter) (?:of )?{_YEAR}\b", re.I), "month"),
    (re.compile(rf"\b{_YEAR}s?\b"), "year"),
]
_AGO = re.compile(rf"\b{_NUM} (?P<unit>day|week|month|year)s? ago\b", re.I)
_IN_FUTURE = re.compile(rf"\bin {_NUM} (?P<unit>day|week|month|year)s?\b", re.I)
_LAST_NEXT = re.compile(r"\b(?P<which>last|next|this|past|coming) (?P<unit>week|month|year|weekend)\b", re.I)
_LAST_NEXT_NAMED = re.compile(
    r"\b(?P<which>last|next|this) (?P<name>" + "|".join([*WEEKDAYS, *SEASON_MONTH, *MONTHS]) + r")\b", re.I
)
_BARE_MONTH = re.compile(r"^(?:in |on |during |since |by )?" + _MONTH + r"$", re.I)
_SIMPLE = {"today": 0, "tonight": 0, "this morning": 0, "this evening": 0, "yesterday": -1, "tomorrow": 1}


def _iso(d: date) -> str:
    return d.isoformat()


def _shift_months(d: date, months: int) -> date:
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    return date(year, month + 1, 1)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text.lower()]


def absolute_date(text: str) -> tuple[str, str] | None:
    """The first absolute date in ``text``."""
    for pattern, precision in _ABSOLUTE:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        year = int(parts["year"])
        try:
            if parts.get("season"):
                return _iso(date(year, SEASON_MONTH[parts["season"].lower()], 1)), precision
            month_text = parts.get("month")
            month = 1 if month_text is None else (int(month_text) if month_text.isdigit()
                                                  else MONTHS[month_text.lower().rstrip(".")])  # fmt: skip
            day = int(parts["day"]) if parts.get("day") else 1
            return _iso(date(year, month, day)), precision
        except ValueError:
            continue  # "31 February" and the like
    return None


def relative_date(text: str, anchor: datetime | date) -> tuple[str, str] | None:
    """A date said relative to ``anchor`` ("yesterday", "two weeks ago", "last March")."""
    base = anchor.date() if isinstance(anchor, datetime) else anchor
    lowered = text.lower()
    for phrase, days in _SIMPLE.items():
        if re.search(rf"\b{phrase}\b", lowered):
            return _iso(base + timedelta(days=days)), "day"
    for pattern, sign in ((_AGO, -1), (_IN_FUTURE, 1)):
        match = pattern.search(lowered)
        if match:
            n, unit = sign * _number(match["n"]), match["unit"]
            if unit in ("day", "week"):
                return _iso(base + timedelta(days=n * (7 if unit == "week" else 1))), "day"
            if unit == "month":
                return _iso(_shift_months(base, n)), "month"
            return _iso(date(base.year + n, 1, 1)), "year"
    match = _LAST_NEXT.search(lowered)
    if match:
        step = {"last": -1, "past": -1, "next": 1, "coming": 1, "this": 0}[match["which"]]
        unit = match["unit"]
        if unit in ("week", "weekend"):
            return _iso(base + timedelta(days=7 * step)), "day"
        if unit == "month":
            return _iso(_shift_months(base, step)), "month"
        return _iso(date(base.year + step, 1, 1)), "year"
    match = _LAST_NEXT_NAMED.search(lowered)
    if match:
        return _named(match["which"], match["name"], base)
    match = _BARE_MONTH.search(lowered)
    if match:  # "in February", said in April 2022: the February just past
        month = MONTHS[match["month"].rstrip(".")]
        return _iso(date(base.year if month <= base.month else base.year - 1, month, 1)), "month"
    return None


def _named(which: str, name: str, base: date) -> tuple[str, str]:
    if name in WEEKDAYS:
        delta = (base.weekday() - WEEKDAYS[name]) % 7 or 7
        return _iso(base - timedelta(days=delta) if which != "next" else base + timedelta(days=7 - delta or 7)), "day"
    month = SEASON_MONTH.get(name) or MONTHS[name]
    year = base.year
    if which == "last":
        year -= 1 if month >= base.month else 0
    elif which == "next":
        year += 1 if month <= base.month else 0
    return _iso(date(year, month, 1)), "month"


def normalise_date(text: str, anchor: datetime | date | None = None) -> tuple[str, str] | None:
    """ISO date and precision for a date expression, or None when it names no date."""
    found = absolute_date(text)
    if found is None and anchor is not None:
        found = relative_date(text, anchor)
    return found
