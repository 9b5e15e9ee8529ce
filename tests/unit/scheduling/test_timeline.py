import pytest

from opencdmo.scheduling import timeline

BREAKS = ((5, 8), (12, 14))


@pytest.mark.parametrize(
    ("start", "work", "pausing", "end"),
    [
        (0, 4, True, 4),
        (0, 5, True, 5),
        (0, 6, True, 9),
        (3, 10, True, 18),
        (8, 4, True, 12),
        (8, 5, True, 15),
        (0, 10, False, 10),
        (20, 0, True, 20),
    ],
)
def test_finish_stretches_pausing_work_over_breaks(start: int, work: int, pausing: bool, end: int) -> None:
    assert timeline.finish(start, work, BREAKS, pausing) == end


@pytest.mark.parametrize(
    ("time", "work", "pausing", "expected"),
    [
        (0, 5, False, 0),
        (0, 6, False, 14),
        (6, 1, False, 8),
        (6, 4, False, 8),
        (9, 4, False, 14),
        (6, 3, True, 8),
        (9, 4, True, 9),
    ],
)
def test_earliest_start_avoids_breaks(time: int, work: int, pausing: bool, expected: int) -> None:
    assert timeline.earliest_start(time, work, BREAKS, pausing) == expected


def test_start_classes_agree_with_finish() -> None:
    classes = timeline.start_classes(6, BREAKS, 30)
    for extra, ranges in classes.items():
        for first, last in ranges:
            for start in range(first, last + 1):
                assert timeline.inside_break(start, BREAKS) is None
                assert timeline.finish(start, 6, BREAKS, True) - start - 6 == extra
    covered = sum(last - first + 1 for ranges in classes.values() for first, last in ranges)
    assert covered == 31 - 3 - 2


def test_merge_and_overlap() -> None:
    assert timeline.merge([(5, 8), (0, 2), (2, 3), (7, 9)]) == ((0, 3), (5, 9))
    assert timeline.overlap(0, 20, BREAKS) == 5
    assert timeline.overlap(6, 13, BREAKS) == 3
