"""Sponsors (the CDMO's clients, and the tenants of OpenCDMO) and their programs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opencdmo.domain import _rules
from opencdmo.domain.families import ProductFamily
from opencdmo.domain.processes import ProcessTemplate


class SponsorSize(StrEnum):
    LARGE = "large"
    MID = "mid"
    SMALL = "small"


class Modality(StrEnum):
    SMALL_MOLECULE_API = "small-molecule-api"
    ORAL_SOLID_DOSE = "oral-solid-dose"
    STERILE_INJECTABLE = "sterile-injectable"
    MONOCLONAL_ANTIBODY = "monoclonal-antibody"
    RECOMBINANT_PROTEIN = "recombinant-protein"
    VACCINE = "vaccine"
    VIRAL_VECTOR = "viral-vector"
    CELL_THERAPY = "cell-therapy"
    NUTRACEUTICAL = "nutraceutical"
    DIAGNOSTIC = "diagnostic"
    MEDICAL_DEVICE = "medical-device"


class Phase(StrEnum):
    PRECLINICAL = "preclinical"
    PHASE_1 = "phase-1"
    PHASE_2 = "phase-2"
    PHASE_3 = "phase-3"
    COMMERCIAL = "commercial"


@dataclass(eq=False)
class Sponsor:
    """A client company; every record it owns carries its id so that queries can be filtered by it."""

    name: str
    size: SponsorSize = SponsorSize.SMALL
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name")
        self.size = _rules.choice(SponsorSize, self.size, "size")

    def __repr__(self) -> str:
        return f"Sponsor({self.name!r})"


@dataclass(eq=False)
class Program:
    """A sponsor's product in development or on the market, made with one process template."""

    sponsor: Sponsor
    name: str
    modality: Modality
    phase: Phase
    product_family: ProductFamily
    process: ProcessTemplate
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = _rules.text(self.name, "name")
        self.modality = _rules.choice(Modality, self.modality, "modality")
        self.phase = _rules.choice(Phase, self.phase, "phase")

    def __repr__(self) -> str:
        return f"Program({self.sponsor.name!r}, {self.name!r})"
