"""A bar chart as plain numbers for a server-rendered SVG (no script, no third-party files)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import dateformat
from django.utils.translation import gettext as _

WIDTH = 720
HEIGHT = 200
PLOT_TOP = 14
PLOT_BOTTOM = 170  # baseline; day labels go below it
LEFT = 36
GAP = 4


@dataclass(frozen=True)
class Bar:
    day: dt.date
    count: int
    x: float
    y: float
    width: float
    height: float
    label: str  # shown under every few bars
    title: str  # tooltip and accessible text
    label_x: float = 0.0
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    maximum: int
    total: int
    ticks: list[tuple[float, int]]  # (y, value) for the horizontal grid lines
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = PLOT_BOTTOM


def _nice_max(value: int) -> int:
    """The smallest of 4, 8, 20, 40, 80, 200, ... that is at least ``value``: a round top whose
    quarters (the grid lines) are whole numbers."""
    step = 1
    while True:
        for factor in (4, 8, 20):
            if step * factor >= value:
                return step * factor
        step *= 10


def daily(counts: Mapping[dt.date, int], today: dt.date, days: int = 30) -> Chart:
    """One bar per day for the ``days`` days up to and including ``today``."""
    dates = [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    values = [int(counts.get(day, 0)) for day in dates]
    top = _nice_max(max(values, default=0))
    plot_height = PLOT_BOTTOM - PLOT_TOP
    slot = (WIDTH - LEFT) / days
    bars = []
    for index, (day, value) in enumerate(zip(dates, values, strict=True)):
        height = plot_height * value / top
        bars.append(
            Bar(
                day=day,
                count=value,
                x=round(LEFT + index * slot + GAP / 2, 2),
                y=round(PLOT_BOTTOM - height, 2),
                width=round(slot - GAP, 2),
                height=round(height, 2),
                label=dateformat.format(day, "d M") if (days - 1 - index) % 7 == 0 else "",
                title=_("%(day)s: %(n)s sent") % {"day": dateformat.format(day, "D d M"), "n": value},
                label_x=round(LEFT + index * slot + (slot - GAP / 2 if index == days - 1 else slot / 2), 2),
                anchor="end" if index == days - 1 else "middle",
            )
        )
    ticks = [(round(PLOT_BOTTOM - plot_height * part / 4, 2), top * part // 4) for part in range(5)]
    return Chart(bars=bars, maximum=top, total=sum(values), ticks=ticks)


# Charts of one or more series per slot (issue 27): failures and bounces per day, the queue per
# hour, confirmation waits per day. Each series is a bar in the slot, side by side; the same
# numbers are offered as a table under the chart.

SERIES_CLASSES = ("bar", "bar bar-2", "bar bar-3")


@dataclass(frozen=True)
class Slot:
    row: str  # the slot in words, for the table and the tooltips ("Mon 30 Nov", "Mon 14:00")
    axis: str  # the label under the slot, or "" (only every few slots are labelled)
    values: tuple[float, ...]
    count: int | None = None  # how many values a statistic is made of (shown in the table)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[str, ...]
    count: int | None


@dataclass(frozen=True)
class Grouped:
    series: tuple[str, ...]
    rects: list[Rect]
    labels: list[tuple[float, str, str]]  # (x, anchor, text) under the baseline
    ticks: list[tuple[float, str]]  # (y, value in words)
    rows: list[Row]
    maximum: float
    seconds: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = PLOT_BOTTOM

    @property
    def legend(self) -> list[tuple[str, str]]:
        return [(name, SERIES_CLASSES[index]) for index, name in enumerate(self.series)]

    @property
    def empty(self) -> bool:
        return self.maximum == 0


def duration(seconds: float) -> str:
    """A wait in words: "0.4 s", "12 s", "3 min 5 s", "2 h 4 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min" if rest // 60 else f"{hours} h"


def grouped(slots: list[Slot], series: tuple[str, ...], *, seconds: bool = False) -> Grouped:
    """Bars for ``series`` (at most three) in each slot, on one scale from zero."""
    show = duration if seconds else (lambda value: str(int(value)))
    highest = max((value for slot in slots for value in slot.values), default=0)
    top = _nice_max(math.ceil(highest))
    plot_height = PLOT_BOTTOM - PLOT_TOP
    slot_width = (WIDTH - LEFT) / max(1, len(slots))
    bar_width = (slot_width - GAP) / len(series)
    rects, labels, rows = [], [], []
    for index, slot in enumerate(slots):
        left = LEFT + index * slot_width + GAP / 2
        for number, (name, value) in enumerate(zip(series, slot.values, strict=True)):
            height = plot_height * value / top
            rects.append(
                Rect(
                    x=round(left + number * bar_width, 2),
                    y=round(PLOT_BOTTOM - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    css=SERIES_CLASSES[number],
                    title=f"{slot.row}: {show(value)} {name}",
                )
            )
        if slot.axis:
            last = index == len(slots) - 1
            x = LEFT + index * slot_width + (slot_width - GAP / 2 if last else slot_width / 2)
            labels.append((round(x, 2), "end" if last else "middle", slot.axis))
        rows.append(Row(slot.row, tuple(show(value) for value in slot.values), slot.count))
    ticks = [(round(PLOT_BOTTOM - plot_height * part / 4, 2), show(top * part / 4)) for part in range(5)]
    return Grouped(
        series=series, rects=rects, labels=labels, ticks=ticks, rows=rows, maximum=highest, seconds=seconds
    )
