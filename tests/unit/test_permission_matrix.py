"""The role x action matrix (21 CFR 11.10(g), EU GMP Annex 11 §12), every pair written out by hand.

The table below is the specification, reviewed by QA; it is not derived from the code, so a change to
``domain.PERMISSIONS`` that grants or removes a right fails here until the table is changed with it.
"""

from __future__ import annotations

import pytest

from opencdmo import domain
from opencdmo.domain import Action, Role

COLUMNS = [
    "view-network",
    "edit-network",
    "view-sponsors",
    "edit-sponsors",
    "view-orders",
    "edit-orders",
    "view-schedule",
    "plan",
    "view-kpis",
    "execute-batches",
    "record-qc-results",
    "review-quality",
    "dispose-batches",
    "view-batch-records",
    "author-master-records",
    "open-deviations",
    "manage-instruments",
    "manage-users",
]

MATRIX = """
admin             x x x x x x x x x . . . . . . . . x
planner           x x x x x x x x x . . . . . x . . .
operator          x . . . x . x . . x . . . x . x . .
qc-analyst        x . . . x . x . . . x . . x . x x .
qa                x . x . x . x . x . . x . x x x x .
qualified-person  x . x . x . x . x . . x x x . x . .
sponsor           . . x . x . x . x . . . . x . . . .
viewer            x . x . x . x . x . . . . x . . . .
"""


def _expected() -> dict[tuple[Role, Action], bool]:
    expected = {}
    for line in MATRIX.strip().splitlines():
        role, *marks = line.split()
        assert len(marks) == len(COLUMNS), role
        for action, mark in zip(COLUMNS, marks, strict=True):
            expected[(Role(role), Action(action))] = mark == "x"
    return expected


EXPECTED = _expected()


def test_the_table_covers_every_role_and_every_action() -> None:
    assert {role for role, _ in EXPECTED} == set(Role)
    assert {action for _, action in EXPECTED} == set(Action)


@pytest.mark.parametrize(("role", "action"), sorted(EXPECTED, key=lambda pair: (pair[0].value, pair[1].value)))
def test_every_role_action_pair(role: Role, action: Action) -> None:
    assert domain.can(role, action) is EXPECTED[(role, action)]


def test_segregation_of_duties() -> None:
    """Nobody both administers users and touches GMP content; only the qualified person disposes of batches."""
    gmp = {Action.EXECUTE_BATCHES, Action.RECORD_QC_RESULTS, Action.REVIEW_QUALITY, Action.DISPOSE_BATCHES}
    assert not gmp & domain.PERMISSIONS[Role.ADMIN]
    assert [role for role in Role if domain.can(role, Action.DISPOSE_BATCHES)] == [Role.QUALIFIED_PERSON]
    assert not any(domain.can(Role.SPONSOR, action) for action in gmp | {Action.OPEN_DEVIATIONS})
