"""A bar chart as plain numbers for a server-rendered SVG (no script, no third-party files)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

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
                label=day.strftime("%d %b") if (days - 1 - index) % 7 == 0 else "",
                title=f"{day:%a %d %b}: {value} sent",
                label_x=round(LEFT + index * slot + (slot - GAP / 2 if index == days - 1 else slot / 2), 2),
                anchor="end" if index == days - 1 else "middle",
            )
        )
    ticks = [(round(PLOT_BOTTOM - plot_height * part / 4, 2), top * part // 4) for part in range(5)]
    return Chart(bars=bars, maximum=top, total=sum(values), ticks=ticks)
