"""Product families: the groups of products that cleaning and changeover rules key on."""

from __future__ import annotations

from dataclasses import dataclass

from opencdmo.domain import _rules


@dataclass(eq=False)
class ProductFamily:
    """A family of products that share cleaning requirements (for example 'mab-igg1' or 'hpapi-oncology')."""

    name: str
    description: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name", max_length=60)
        if not isinstance(self.description, str):
            raise _rules.DomainError("must be a text", field="description")

    def __repr__(self) -> str:
        return f"ProductFamily({self.name!r})"
