"""Arithmetic on downtime windows (breaks), shared by the heuristic, the model and the checker."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

Window = tuple[int, int]


def merge(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Sorted union of windows; touching windows become one."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def inside_break(time: int, breaks: tuple[Window, ...]) -> Window | None:
    """The break that contains ``time`` (start inclusive, end exclusive), if any."""
    index = bisect_right(breaks, (time, 2**62)) - 1
    if index >= 0 and breaks[index][0] <= time < breaks[index][1]:
        return breaks[index]
    return None


def finish(start: int, work: int, breaks: tuple[Window, ...], pausing: bool) -> int:
    """End of ``work`` minutes started at ``start``; a pausing task stretches over the breaks it meets."""
    if not pausing or work == 0:
        return start + work
    time, left = start, work
    index = bisect_right(breaks, (time, 2**62))
    if index > 0 and breaks[index - 1][1] > time:
        index -= 1
    while left > 0:
        if index < len(breaks) and breaks[index][0] < time + left:
            break_start, break_end = breaks[index]
            left -= max(0, break_start - time)
            time = max(time, break_end)
            index += 1
        else:
            time += left
            left = 0
    return time


def overlap(start: int, end: int, breaks: tuple[Window, ...]) -> int:
    """Minutes of ``[start, end)`` that fall inside breaks."""
    total = 0
    index = max(0, bisect_right(breaks, (start, 2**62)) - 1)
    while index < len(breaks) and breaks[index][0] < end:
        total += max(0, min(end, breaks[index][1]) - max(start, breaks[index][0]))
        index += 1
    return total


def earliest_start(time: int, work: int, breaks: tuple[Window, ...], pausing: bool) -> int:
    """Earliest start at or after ``time`` that does not sit in a break, nor (unless pausing) cross one."""
    while True:
        window = inside_break(time, breaks)
        if window is not None:
            time = window[1]
            continue
        if pausing or work == 0:
            return time
        end = time + work
        index = bisect_right(breaks, (time, 2**62))
        if index < len(breaks) and breaks[index][0] < end:
            time = breaks[index][1]
            continue
        return time


def start_classes(work: int, breaks: tuple[Window, ...], horizon: int) -> dict[int, list[Window]]:
    """Group the allowed starts of a pausing task in ``[0, horizon]`` by the break minutes it will span.

    Returns ``{extra_minutes: [(first_start, last_start), ...]}`` with closed ranges. Starts inside breaks
    are excluded. Within a gap between two breaks the extra time only grows as the start moves later, so
    each gap splits into a few ranges.
    """
    classes: dict[int, list[Window]] = {}
    gaps: list[Window] = []
    previous_end = 0
    for break_start, break_end in breaks:
        if break_start > previous_end:
            gaps.append((previous_end, break_start - 1))
        previous_end = max(previous_end, break_end)
    gaps.append((previous_end, max(horizon, previous_end)))
    for first, last in gaps:
        start = first
        while start <= last:
            extra = finish(start, work, breaks, True) - start - work
            # The extra time only grows as the start moves later in a gap: binary search the class end.
            low, high = start, last
            while low < high:
                middle = (low + high + 1) // 2
                if finish(middle, work, breaks, True) - middle - work == extra:
                    low = middle
                else:
                    high = middle - 1
            classes.setdefault(extra, []).append((start, low))
            start = low + 1
    return classes
