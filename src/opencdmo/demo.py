"""The demo CDMO: a realistic, deterministic network and order book (``opencdmo demo``).

Figures come from ``../shared/domain/demo-parameters.md``; the comments name the row they use.

**Network.** Sites cycle through five archetypes, so the default five sites show every market segment:

====  =====================================  ==========================================================
site  archetype                              suites
====  =====================================  ==========================================================
A     biologics, commercial                  4 x 15,000 L stainless + 2 x 2,000 L single-use upstream,
                                             3 downstream trains, QC lab
B     biologics, clinical / flex (BSL-2)     4 x 2,000 L + 2 x 500 L single-use (viral vectors in the
                                             500 L), 2 downstream trains, QC lab
C     small-molecule API, oral solids and    4 reactors of 4-16 m3, a high-potency suite, OSD
      nutraceuticals ("other" segment)       formulation, nutraceutical encapsulation, packaging, QC lab
D     sterile fill-finish, diagnostics and   compounding, isolator line, clinical line, freeze dryer,
      devices ("other" segment)              reagent formulation, device assembly, packaging, QC lab
E     cell therapy (BSL-2)                   7 patient-specific suites, QC lab
====  =====================================  ==========================================================

That is 44 suites for five sites and 176 for twenty. Every site has a QC lab whose analysts are sized to the
release testing its share of the order book needs (about 70 % busy). Changeover (cleaning) rules follow the
parameters: stainless CIP/SIP 2-4 days, single-use 1-2 days, fill lines 1-3 shifts, nutraceuticals 1 day, a
shorter time within a campaign, and a few longer family pairs (out of high potency, out of viral vectors).
Each site has an annual shutdown and each suite one or two short maintenance windows inside the horizon.

**Order book.** Batches are shared out per site archetype. At the default density (300 batches on five sites
over twelve months) the biologics suites are the busiest: within the year the bioreactors and downstream trains
run batches about 60 % of their available time (75-80 % with cleaning; the 2,000 L bioreactors and clinical
trains up to 75 %), the QC labs about 50 %, and the quicker segments much less (300 batches cannot fill a
network of this size everywhere; the bioreactors were given priority). A larger order book fills every site
towards its capacity evenly; beyond capacity (about 820 batches a year per five sites with this mix) orders
simply finish later. Cell-therapy orders are one patient each. A handful of orders were released before the
horizon start and have batches in progress, completed, in QC or released; one lot is cancelled and replaced.

**Due dates are feasible by construction.** A witness schedule is built while generating: orders in release
order, each batch's stages one after the other in the suite where each can start earliest, at the site (of
those that can run the first stage) where the batch finishes earliest; it respects downtime, the changeover
between neighbouring batches in a suite (family pair, or same product), the longest changeover into or out of
the batch's family next to a downtime window, and every stage's maximum hold time (when the wait would exceed
it, the batch starts later and is placed again); then QC release in the lab of the site of the last stage,
within its analysts. An order's due date is the witness completion of its last batch plus 5-25 % of its lead
time, rounded up to a whole day. So at least one plan meets every due date, and the dates are tight because
that plan is greedy and leaves little room.

Deterministic per seed: one ``random.Random(seed)``, and nothing iterates over a set.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from opencdmo import domain
from opencdmo.errors import InputError

MAX_SITES = 100
MAX_BATCHES = 100_000
MAX_MONTHS = 60

S = domain.SuiteKind

# --- product families and cleaning -------------------------------------------------------------------------

FAMILIES: tuple[tuple[str, str], ...] = (
    ("mab-igg", "Monoclonal antibodies (IgG) from CHO fed-batch culture"),
    ("bispecific", "Bispecific antibodies; cleaning validated apart from IgG"),
    ("recombinant-protein", "Recombinant therapeutic proteins and enzymes"),
    ("vaccine", "Recombinant subunit vaccines, handled at BSL-2"),
    ("viral-vector", "AAV and lentiviral vectors, BSL-2, decontaminated after use"),
    ("api-general", "Small-molecule APIs of ordinary potency"),
    ("hpapi", "High-potency APIs (OEL below 10 µg/m³), contained handling"),
    ("osd", "Oral solid dose: tablets and capsules"),
    ("sterile-liquid", "Sterile liquid parenterals in vials and syringes"),
    ("sterile-lyophilized", "Freeze-dried sterile parenterals"),
    ("car-t", "Autologous CAR-T cell therapies, one batch per patient"),
    ("nutraceutical", "Dietary supplements: tablets, capsules and powders"),
    ("diagnostic-reagent", "In-vitro diagnostic reagents and kits"),
    ("device-component", "Medical device components and assemblies"),
)

# profile: (same product hours, default hours, "from>to:hours ..." for specific family pairs)
# fmt: off
CHANGEOVERS: dict[str, tuple[int, int, str]] = {
    # stainless CIP/SIP 2-4 days, shorter within a campaign
    "usp-stainless": (36, 72, "mab-igg>mab-igg:48 bispecific>mab-igg:96 mab-igg>bispecific:96"),
    # single-use 1-2 days; decontamination after viral vectors
    "usp-single-use": (12, 24, "viral-vector>mab-igg:48 viral-vector>vaccine:48 viral-vector>recombinant-protein:48 "
                               "vaccine>mab-igg:36"),
    "dsp-stainless": (24, 48, "bispecific>mab-igg:72 mab-igg>bispecific:72"),
    "dsp-single-use": (12, 24, "viral-vector>mab-igg:48 viral-vector>vaccine:48"),
    # small molecule: 2-5 days of cleaning and verification; out of high potency much longer
    "synthesis": (24, 72, "api-general>api-general:48 hpapi>api-general:168"),
    "synthesis-hp": (24, 96, "hpapi>hpapi:72 hpapi>api-general:240 api-general>hpapi:96"),
    "osd": (8, 48, "osd>osd:24 nutraceutical>osd:36"),
    "nutraceutical": (4, 24, "nutraceutical>nutraceutical:12"),  # 1-day changeovers
    "packaging": (2, 8, "nutraceutical>osd:16 diagnostic-reagent>sterile-liquid:16 device-component>sterile-liquid:16"),
    "compounding": (8, 24, "sterile-liquid>sterile-liquid:16"),
    # fill-finish: 1-3 shifts (isolator decontamination)
    "fill-isolator": (8, 24, "sterile-liquid>sterile-liquid:16 sterile-lyophilized>sterile-lyophilized:16"),
    "fill-clinical": (8, 16, ""),
    "lyophilizer": (8, 16, ""),
    "diagnostic": (4, 24, "diagnostic-reagent>diagnostic-reagent:12"),
    "device": (4, 16, ""),
    "cell-therapy": (8, 12, ""),
    "qc": (0, 0, ""),
}
# fmt: on


def _rules(text: str) -> list[tuple[str, str, int]]:
    rules = []
    for item in text.split():
        pair, hours = item.split(":")
        from_family, to_family = pair.split(">")
        rules.append((from_family, to_family, int(hours)))
    return rules


# --- site archetypes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SuiteSpec:
    code: str
    count: int
    kind: domain.SuiteKind
    scale: float
    unit: domain.ScaleUnit
    construction: domain.Construction | None
    capabilities: str  # space-separated labels
    changeovers: str  # a key of CHANGEOVERS
    downtime_reasons: tuple[str, ...] = ("preventive maintenance", "calibration and requalification")


@dataclass(frozen=True)
class _Archetype:
    letter: str
    segment: str
    biosafety_level: int
    shutdown_days: int
    places: tuple[tuple[str, str], ...]  # (city, region)
    certifications: tuple[str, ...]  # besides the region's regulators
    suites: tuple[_SuiteSpec, ...]
    demand: tuple[tuple[str, float], ...]  # (process key, share of the site's batches)
    batches_per_year: float  # at the default density: bioreactors and downstream trains busiest
    capacity_per_year: float  # with this mix, when its bottleneck suites are full (changeovers included)


L, KG, UNITS = domain.ScaleUnit.LITRE, domain.ScaleUnit.KILOGRAM, domain.ScaleUnit.UNITS
SU, SS = domain.Construction.SINGLE_USE, domain.Construction.STAINLESS
NA, EU, AP = "North America", "Europe", "Asia-Pacific"
REGULATORS = {NA: ("fda", "health-canada"), EU: ("ema", "fda"), AP: ("fda", "pmda")}
_FILL_REASONS = ("media fill (aseptic process simulation)", "isolator requalification", "preventive maintenance")
_QC_LAB = _SuiteSpec("QCL", 1, S.QC_LAB, 1, UNITS, None, "bioassay hplc microbiology", "qc", ())

# fmt: off
ARCHETYPES: tuple[_Archetype, ...] = (
    _Archetype(
        "A", "biologics", 1, 14, (("Boston", NA), ("Singapore", AP), ("Cork", EU), ("Incheon", AP)), ("ema",),
        (
            _SuiteSpec("USP", 4, S.UPSTREAM, 15_000, L, SS, "bioreactor-15000l cell-culture stainless",
                       "usp-stainless"),
            _SuiteSpec("USP", 2, S.UPSTREAM, 2_000, L, SU, "bioreactor-2000l cell-culture single-use",
                       "usp-single-use"),
            _SuiteSpec("DSP", 2, S.DOWNSTREAM, 15_000, L, SS, "chromatography large-scale viral-filtration",
                       "dsp-stainless"),
            _SuiteSpec("DSP", 1, S.DOWNSTREAM, 15_000, L, SS,
                       "chromatography continuous-chromatography large-scale viral-filtration", "dsp-stainless"),
            _QC_LAB,
        ),
        (("mab-15kl", 0.5), ("mab-2kl", 0.3), ("rp-2kl", 0.2)), 120, 130,
    ),
    _Archetype(
        "B", "biologics", 2, 14, (("Basel", EU), ("San Diego", NA), ("Shanghai", AP), ("Leiden", EU)), (),
        (
            _SuiteSpec("USP", 4, S.UPSTREAM, 2_000, L, SU, "bioreactor-2000l bsl2 cell-culture single-use",
                       "usp-single-use"),
            _SuiteSpec("USP", 2, S.UPSTREAM, 500, L, SU, "bioreactor-500l bsl2 cell-culture single-use viral-vector",
                       "usp-single-use"),
            _SuiteSpec("DSP", 2, S.DOWNSTREAM, 2_000, L, SU, "bsl2 chromatography viral-filtration", "dsp-single-use"),
            _QC_LAB,
        ),
        (("mab-500l", 0.25), ("mab-2kl", 0.3), ("vaccine-2kl", 0.2), ("aav-500l", 0.25)), 85, 110,
    ),
    _Archetype(
        "C", "small molecule", 1, 10,
        (("Research Triangle", NA), ("Visp", EU), ("Hyderabad", AP), ("Grange Castle", EU)), ("nsf-gmp",),
        (
            _SuiteSpec("SYN", 1, S.SYNTHESIS, 4_000, L, SS, "cryogenic glass-lined", "synthesis"),
            _SuiteSpec("SYN", 1, S.SYNTHESIS, 6_300, L, SS, "glass-lined", "synthesis"),
            _SuiteSpec("SYN", 1, S.SYNTHESIS, 10_000, L, SS, "hastelloy hydrogenation", "synthesis"),
            _SuiteSpec("SYN", 1, S.SYNTHESIS, 16_000, L, SS, "hastelloy", "synthesis"),
            _SuiteSpec("HPA", 1, S.SYNTHESIS, 2_000, L, SS, "containment high-potency", "synthesis-hp"),
            _SuiteSpec("OSD", 1, S.FORMULATION, 480, KG, SS, "osd", "osd"),
            _SuiteSpec("NUT", 1, S.FORMULATION, 2_000, KG, SS, "nutraceutical", "nutraceutical"),
            _SuiteSpec("PKG", 1, S.PACKAGING, 800_000, UNITS, None, "blister bottling", "packaging"),
            _QC_LAB,
        ),
        (("api", 0.35), ("hpapi", 0.1), ("osd", 0.3), ("nutraceutical", 0.25)), 45, 160,
    ),
    _Archetype(
        "D", "fill-finish", 1, 10, (("Bloomington", NA), ("Monza", EU), ("Kobe", AP), ("Halle", EU)), ("iso-13485",),
        (
            _SuiteSpec("CMP", 1, S.FORMULATION, 2_000, L, SS, "aseptic-compounding", "compounding"),
            _SuiteSpec("FIL", 1, S.FILL_FINISH, 60_000, UNITS, None, "aseptic isolator syringes vials", "fill-isolator",
                       _FILL_REASONS),
            _SuiteSpec("FIL", 1, S.FILL_FINISH, 10_000, UNITS, None, "aseptic rabs vials", "fill-clinical",
                       _FILL_REASONS),
            _SuiteSpec("LYO", 1, S.FILL_FINISH, 60_000, UNITS, None, "lyophilization", "lyophilizer"),
            _SuiteSpec("DXR", 1, S.FORMULATION, 500, L, None, "diagnostic-reagents", "diagnostic"),
            _SuiteSpec("DEV", 1, S.PACKAGING, 100_000, UNITS, None, "cleanroom-iso7 device-assembly", "device"),
            _SuiteSpec("PKG", 1, S.PACKAGING, 100_000, UNITS, None, "inspection kitting labelling", "packaging"),
            _QC_LAB,
        ),
        (("sterile-liquid", 0.3), ("sterile-lyo", 0.15), ("sterile-clinical", 0.2), ("diagnostic", 0.2),
         ("device", 0.15)), 25, 160,
    ),
    _Archetype(
        "E", "cell therapy", 2, 7, (("Philadelphia", NA), ("Geleen", EU), ("Osaka", AP), ("Morris Plains", NA)), (),
        (
            _SuiteSpec("CTS", 7, S.CELL_THERAPY, 1, UNITS, SU, "bsl2 closed-system grade-b", "cell-therapy",
                       ("room requalification", "preventive maintenance")),
            _QC_LAB,
        ),
        (("cart-commercial", 0.6), ("cart-clinical", 0.4)), 25, 260,
    ),
)
# fmt: on


# --- processes -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StageSpec:
    name: str
    kind: domain.SuiteKind
    hours: int
    capabilities: str  # space-separated labels
    hold: int | None
    faster_in: tuple[tuple[str, int], ...] = ()  # (suite such as "A-DSP-03", hours): at every such site


@dataclass(frozen=True)
class _ProcessSpec:
    key: str
    name: str
    stages: tuple[_StageSpec, ...]
    qc_hours: int
    qc_analysts: int


_DAY = 24
_HARVEST = "Harvest and purification"
_CAR_T = "Activation, transduction, expansion and cryopreservation"

# fmt: off
PROCESSES: tuple[_ProcessSpec, ...] = (
    # mAb: production (N-stage) 14 days; harvest to bulk drug substance 4-7 days; release 30-60 days
    _ProcessSpec("mab-15kl", "mAb drug substance, 15,000 L stainless (CHO fed-batch)", (
        _StageSpec("Production culture", S.UPSTREAM, 14 * _DAY, "bioreactor-15000l stainless", 48),
        _StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "chromatography large-scale", None),
    ), 45 * _DAY, 3),
    _ProcessSpec("mab-2kl", "mAb drug substance, 2,000 L single-use (CHO fed-batch)", (
        _StageSpec("Production culture", S.UPSTREAM, 14 * _DAY, "bioreactor-2000l single-use", 48),
        _StageSpec(_HARVEST, S.DOWNSTREAM, 5 * _DAY, "chromatography viral-filtration", None,
                   (("A-DSP-03", 4 * _DAY),)),  # continuous chromatography
    ), 40 * _DAY, 2),
    _ProcessSpec("mab-500l", "mAb clinical drug substance, 500 L single-use", (
        _StageSpec("Production culture", S.UPSTREAM, 12 * _DAY, "bioreactor-500l single-use", 48),
        _StageSpec(_HARVEST, S.DOWNSTREAM, 4 * _DAY, "chromatography", None),
    ), 30 * _DAY, 2),
    _ProcessSpec("rp-2kl", "Recombinant protein, 2,000 L single-use", (
        _StageSpec("Production culture", S.UPSTREAM, 12 * _DAY, "bioreactor-2000l single-use", 24),
        _StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "chromatography", None),
    ), 35 * _DAY, 2),
    _ProcessSpec("vaccine-2kl", "Subunit vaccine, 2,000 L single-use (BSL-2)", (
        _StageSpec("Production culture", S.UPSTREAM, 10 * _DAY, "bioreactor-2000l bsl2", 24),
        _StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "bsl2 chromatography", None),
    ), 50 * _DAY, 2),
    _ProcessSpec("aav-500l", "AAV vector, 500 L single-use (BSL-2)", (
        _StageSpec("Transfection and production", S.UPSTREAM, 7 * _DAY, "bsl2 viral-vector", 24),
        _StageSpec("Lysis and purification", S.DOWNSTREAM, 5 * _DAY, "bsl2 chromatography", None),
    ), 45 * _DAY, 2),
    # small molecule: 1-5 days per synthetic step; release 7-21 days
    _ProcessSpec("api", "Small-molecule API, 4-step synthesis", (
        _StageSpec("Step 1 coupling", S.SYNTHESIS, 96, "glass-lined", None),
        _StageSpec("Step 2 hydrogenation", S.SYNTHESIS, 72, "hydrogenation", None),
        _StageSpec("Step 3 deprotection", S.SYNTHESIS, 72, "hastelloy", 30 * _DAY),
        _StageSpec("Step 4 crystallisation and drying", S.SYNTHESIS, 96, "glass-lined", None, (("C-SYN-02", 72),)),
    ), 14 * _DAY, 2),
    _ProcessSpec("hpapi", "High-potency API, 3-step contained synthesis", (
        _StageSpec("HP step 1", S.SYNTHESIS, 96, "high-potency", None),
        _StageSpec("HP step 2", S.SYNTHESIS, 72, "high-potency", None),
        _StageSpec("HP isolation and drying", S.SYNTHESIS, 72, "high-potency", None),
    ), 21 * _DAY, 2),
    _ProcessSpec("osd", "Oral solid dose, 480 kg tablet batch", (
        _StageSpec("Granulation, compression and coating", S.FORMULATION, 72, "osd", 30 * _DAY),
        _StageSpec("Blister packaging", S.PACKAGING, 24, "blister", None),
    ), 10 * _DAY, 2),
    # other segment (assumptions): nutraceutical release 3-7 days, diagnostics 2-4 weeks, devices 1-2 weeks
    _ProcessSpec("nutraceutical", "Nutraceutical capsules, 1,000 kg batch", (
        _StageSpec("Blending and encapsulation", S.FORMULATION, 48, "nutraceutical", 14 * _DAY),
        _StageSpec("Bottling", S.PACKAGING, 24, "bottling", None),
    ), 5 * _DAY, 1),
    _ProcessSpec("diagnostic", "Diagnostic reagent kit lot (1,000-50,000 kits)", (
        _StageSpec("Reagent formulation and filling", S.FORMULATION, 72, "diagnostic-reagents", 14 * _DAY),
        _StageSpec("Kitting and labelling", S.PACKAGING, 48, "kitting", None),
    ), 21 * _DAY, 1),
    _ProcessSpec("device", "Device component lot (1,000-100,000 units)", (
        _StageSpec("Component assembly", S.PACKAGING, 72, "device-assembly", None),
        _StageSpec("Packaging and labelling", S.PACKAGING, 24, "labelling", None),
    ), 10 * _DAY, 1),
    # fill-finish: lyophilization cycle 2-5 days; release 3-5 weeks including the 14-day sterility test
    _ProcessSpec("sterile-liquid", "Sterile liquid vials, isolator line (up to 60,000 units)", (
        _StageSpec("Compounding", S.FORMULATION, 24, "aseptic-compounding", 24),
        _StageSpec("Aseptic filling", S.FILL_FINISH, 36, "aseptic isolator", 30 * _DAY),
        _StageSpec("Inspection and labelling", S.PACKAGING, 48, "inspection", None),
    ), 28 * _DAY, 2),
    _ProcessSpec("sterile-lyo", "Lyophilized vials, isolator line", (
        _StageSpec("Compounding", S.FORMULATION, 24, "aseptic-compounding", 24),
        _StageSpec("Aseptic filling", S.FILL_FINISH, 24, "aseptic isolator", 4),
        _StageSpec("Lyophilization", S.FILL_FINISH, 96, "lyophilization", 30 * _DAY),
        _StageSpec("Inspection and labelling", S.PACKAGING, 48, "inspection", None),
    ), 35 * _DAY, 2),
    _ProcessSpec("sterile-clinical", "Clinical sterile fill (up to 10,000 units)", (
        _StageSpec("Compounding", S.FORMULATION, 16, "aseptic-compounding", 24),
        _StageSpec("Aseptic filling", S.FILL_FINISH, 16, "aseptic", 30 * _DAY, (("D-FIL-01", 12),)),
        _StageSpec("Inspection and labelling", S.PACKAGING, 24, "inspection", None),
    ), 21 * _DAY, 2),
    # cell therapy: one patient per batch; collection to release 14-16 days commercially; QC 14-42 days
    _ProcessSpec("cart-commercial", "Autologous CAR-T, commercial", (
        _StageSpec(_CAR_T, S.CELL_THERAPY, 8 * _DAY, "closed-system", None, (("E-CTS-07", 7 * _DAY),)),  # automated
    ), 14 * _DAY, 1),
    _ProcessSpec("cart-clinical", "Autologous CAR-T, clinical", (
        _StageSpec(_CAR_T, S.CELL_THERAPY, 11 * _DAY, "closed-system", None),
    ), 28 * _DAY, 1),
)
# fmt: on


# --- what sponsors buy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """A kind of program a sponsor can have: modality, family, process, and its commercial terms."""

    modality: domain.Modality
    family: str
    process: str
    phases: str  # one character per phase to draw from: 0 preclinical, 1-3 phase 1-3, C commercial
    weights: tuple[float, float, float]  # how likely a large, mid, small sponsor has such a program
    batches: tuple[int, int]  # batches per order
    price: tuple[int, int]  # USD thousands per batch
    priorities: str  # to draw from
    penalty: tuple[float, float] = (0.002, 0.008)  # late penalty per day, as a fraction of the order's value


M = domain.Modality
PHASES = {"0": domain.Phase.PRECLINICAL, "1": domain.Phase.PHASE_1, "2": domain.Phase.PHASE_2,
          "3": domain.Phase.PHASE_3, "C": domain.Phase.COMMERCIAL}  # fmt: skip

# cost per batch: USD 1-3 M per 2,000 L and 3-8 M per 15,000 L (parameters); the rest are assumptions
# fmt: off
LINES: tuple[_Line, ...] = (
    _Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-15kl", "3CC", (6, 2, 0.2), (2, 6), (3_000, 8_000), "23"),
    _Line(M.MONOCLONAL_ANTIBODY, "bispecific", "mab-15kl", "C", (2, 1, 0), (2, 4), (3_500, 8_000), "23"),
    _Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-2kl", "23CC", (4, 4, 2), (1, 5), (1_000, 3_000), "234"),
    _Line(M.MONOCLONAL_ANTIBODY, "bispecific", "mab-2kl", "23", (2, 3, 2), (1, 4), (1_200, 3_000), "23"),
    _Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-500l", "0122", (1, 3, 5), (1, 3), (500, 1_200), "234"),
    _Line(M.RECOMBINANT_PROTEIN, "recombinant-protein", "rp-2kl", "23CC", (3, 3, 1), (1, 5), (900, 2_500), "234"),
    _Line(M.VACCINE, "vaccine", "vaccine-2kl", "13C", (3, 2, 1), (2, 6), (800, 2_000), "123"),
    _Line(M.VIRAL_VECTOR, "viral-vector", "aav-500l", "0123", (1, 2, 4), (1, 3), (1_500, 3_500), "23"),
    _Line(M.SMALL_MOLECULE_API, "api-general", "api", "23CC", (5, 3, 1), (2, 8), (300, 1_500), "234"),
    _Line(M.SMALL_MOLECULE_API, "hpapi", "hpapi", "123C", (2, 2, 2), (1, 4), (500, 2_000), "23"),
    _Line(M.ORAL_SOLID_DOSE, "osd", "osd", "23CC", (4, 3, 1), (3, 10), (100, 400), "34"),
    _Line(M.STERILE_INJECTABLE, "sterile-liquid", "sterile-liquid", "3CC", (4, 3, 1), (2, 8), (200, 600), "23"),
    _Line(M.STERILE_INJECTABLE, "sterile-lyophilized", "sterile-lyo", "3CC", (2, 2, 1), (2, 6), (300, 800), "23"),
    _Line(M.STERILE_INJECTABLE, "sterile-liquid", "sterile-clinical", "12", (1, 2, 4), (1, 3), (80, 300), "234"),
    _Line(M.CELL_THERAPY, "car-t", "cart-commercial", "C", (3, 2, 1), (1, 1), (150, 350), "112", (0.02, 0.05)),
    _Line(M.CELL_THERAPY, "car-t", "cart-clinical", "12", (1, 2, 5), (1, 1), (120, 300), "12", (0.02, 0.05)),
    _Line(M.NUTRACEUTICAL, "nutraceutical", "nutraceutical", "C", (1, 3, 4), (4, 10), (20, 80), "345"),
    _Line(M.DIAGNOSTIC, "diagnostic-reagent", "diagnostic", "C", (1, 2, 4), (2, 6), (50, 250), "345"),
    _Line(M.MEDICAL_DEVICE, "device-component", "device", "C", (1, 2, 4), (3, 10), (30, 150), "345"),
)
# fmt: on


_NAME_STEMS = (
    "Aldera", "Altamira", "Borealis", "Brightwater", "Cascadia", "Corvana", "Delmora", "Dunmore", "Evergreen",
    "Fenwick", "Galenix", "Halcyon", "Istra", "Juniper", "Kestrel", "Lumora", "Meridian", "Norvale", "Orison",
    "Pellucid", "Quillon", "Ravenna", "Solenne", "Tessaly", "Umbral", "Veridia", "Westmark", "Xanthe", "Yarrow",
    "Zephyra",
)  # fmt: skip
_NAME_ENDINGS = {
    domain.SponsorSize.LARGE: ("Pharma", "Pharmaceuticals", "Biopharma", "Health"),
    domain.SponsorSize.MID: ("Therapeutics", "Biosciences", "Biologics", "Life Sciences"),
    domain.SponsorSize.SMALL: ("Bio", "Therapeutics", "Biotherapeutics", "Medical", "Labs"),
}
_PROGRAMS_PER_SPONSOR = {
    domain.SponsorSize.LARGE: (6, 9),
    domain.SponsorSize.MID: (2, 4),
    domain.SponsorSize.SMALL: (1, 2),
}
_ORDER_WEIGHT = {domain.SponsorSize.LARGE: 4.0, domain.SponsorSize.MID: 2.0, domain.SponsorSize.SMALL: 1.0}
_PHASE_WEIGHT = {PHASES[code]: weight for code, weight in zip("0123C", (0.5, 1.0, 1.0, 2.0, 3.0), strict=True)}

# Orders released before the horizon start whose batches are under way: (process, target status).
_UNDER_WAY = (
    ("cart-commercial", "released"),
    ("mab-2kl", "in-progress"),
    ("cart-clinical", "in-qc"),
    ("api", "in-progress"),
    ("osd", "completed"),
    ("sterile-liquid", "in-qc"),
    ("mab-15kl", "in-progress"),
    ("nutraceutical", "released"),
)
_CANCEL_REASON = "Cell bank vial failed viability at thaw; lot cancelled before inoculation and replaced"


# --- the public entry point ---------------------------------------------------------------------------------


def build_demo(
    *,
    sites: int = 5,
    batches: int = 300,
    seed: int = 2027,
    start: date = date(2027, 1, 1),
    months: int = 12,
    progress: Callable[[str], None] | None = None,
) -> domain.Scenario:
    """Build the demo CDMO: ``sites`` sites, exactly ``batches`` batches released over ``months`` from ``start``.

    The same arguments always give the same scenario. Raises :class:`InputError` for arguments out of range.
    """
    return _build(sites=sites, batches=batches, seed=seed, start=start, months=months, progress=progress).scenario


def _check_arguments(sites: object, batches: object, seed: object, start: object, months: object) -> None:
    def whole(value: object, name: str, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"demo: {name} must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise InputError(f"demo: {name} must be between {low} and {high:,}, not {value}")

    whole(sites, "sites", 1, MAX_SITES)
    whole(batches, "batches", 0, MAX_BATCHES)
    whole(months, "months", 1, MAX_MONTHS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"demo: seed must be a whole number, not {seed!r}")
    if not isinstance(start, date) or isinstance(start, datetime):
        raise InputError(f"demo: start must be a date, not {start!r}")


@dataclass
class _Job:
    """A batch as the witness schedule sees it."""

    lot: str
    program: int
    family: int
    process: int
    lower: int  # earliest start, hours from the horizon origin
    stages: list[tuple[str, int, int]] = field(default_factory=list)  # (suite, start, end)
    qc: tuple[str, int, int, int] | None = None  # (lab, start, end, analysts)

    @property
    def finish(self) -> int:
        if self.qc is not None:
            return self.qc[2]
        return self.stages[-1][2]


@dataclass
class _Built:
    scenario: domain.Scenario
    origin: datetime
    horizon_hours: int
    jobs: dict[str, _Job]  # by lot number, every active batch
    utilization: dict[str, float]  # by suite name, within the horizon


def _build(
    *,
    sites: int,
    batches: int,
    seed: int,
    start: date,
    months: int,
    progress: Callable[[str], None] | None,
) -> _Built:
    _check_arguments(sites, batches, seed, start, months)

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    rng = random.Random(seed)
    origin = datetime.combine(start, time(), tzinfo=UTC)
    horizon_days = (_add_months(start, months) - start).days
    scenario = domain.Scenario()
    families = {name: domain.ProductFamily(name=name, description=text) for name, text in FAMILIES}
    scenario.product_families.extend(families.values())

    step("sites")
    archetypes = [ARCHETYPES[i % len(ARCHETYPES)] for i in range(sites)]
    active_batches = batches - 1 if batches >= 10 else batches  # one lot is cancelled and replaced
    site_demand = _share_out(archetypes, active_batches, months)
    for index, archetype in enumerate(archetypes):
        scenario.sites.append(
            _site(archetype, index, families, site_demand[index], horizon_days, origin, rng),
        )

    step("processes")
    scenario.processes.extend(_processes(scenario.sites))
    available = {process.name: process for process in scenario.processes}
    process_of = {spec.key: available[spec.name] for spec in PROCESSES if spec.name in available}

    step("sponsors and programs")
    lines = [line for line in LINES if line.process in process_of]
    _sponsors_and_programs(scenario, lines, families, process_of, sites, rng)

    step("orders")
    demand: dict[str, int] = {}
    for per_site in site_demand:
        for key, count in per_site.items():
            demand[key] = demand.get(key, 0) + count
    specs = _order_specs(scenario, demand, process_of, horizon_days, rng)
    _mark_under_way(specs, process_of, rng)
    specs.sort(key=lambda spec: (spec.release_day, spec.priority, spec.sequence))

    step("due dates")
    witness = _Witness(scenario, origin)
    lot_counter = 0
    year = start.year % 100
    cancel_at = _choose_cancelled(specs, active_batches != batches, rng)
    jobs: dict[str, _Job] = {}
    for number, spec in enumerate(specs, start=1):
        spec.number = f"SO-{year:02d}-{number:05d}"
        lots: list[str] = []
        for _ in range(spec.batch_count + (1 if number - 1 == cancel_at else 0)):
            lot_counter += 1
            lots.append(f"L{year:02d}-{lot_counter:06d}")
        if number - 1 == cancel_at:
            spec.cancelled_lot = lots.pop(0)
        release_hour = spec.release_day * 24
        for lot in lots:
            job = _Job(lot, spec.program_index, spec.family_index, spec.process_index, release_hour)
            witness.place(job)
            jobs[lot] = job
            spec.jobs.append(job)
        finish = max(job.finish for job in spec.jobs)
        lead = finish - release_hour
        spec.due_day = spec.release_day + math.ceil(lead * (1 + rng.uniform(0.05, 0.25)) / 24)

    step("batches")
    for spec in specs:
        scenario.orders.append(_order(spec, scenario, start))

    return _Built(scenario, origin, horizon_days * 24, jobs, witness.utilization(horizon_days * 24))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


# --- sizing ------------------------------------------------------------------------------------------------


def _largest_remainder(values: Sequence[float], total: int) -> list[int]:
    """Round ``values`` (summing to ``total``) to whole numbers with the same sum."""
    floors = [math.floor(value) for value in values]
    missing = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += 1
    return floors


def _share_out(archetypes: Sequence[_Archetype], batches: int, months: int) -> list[dict[str, int]]:
    """How many batches of each process each site's share of the order book holds.

    Up to the default density every site gets its default share; beyond it the sites fill towards their
    capacity evenly; beyond capacity, in proportion to capacity (orders then finish later).
    """
    keys = [(site, key, share) for site, archetype in enumerate(archetypes) for key, share in archetype.demand]
    years = months / 12
    base = [archetypes[site].batches_per_year * share * years for site, _, share in keys]
    most = [archetypes[site].capacity_per_year * share * years for site, _, share in keys]
    total_base, total_most = sum(base), sum(most)
    if batches <= total_base:
        wanted = [b * batches / total_base for b in base]
    elif batches <= total_most:
        fill = (batches - total_base) / (total_most - total_base)
        wanted = [b + (m - b) * fill for b, m in zip(base, most, strict=True)]
    else:
        wanted = [m * batches / total_most for m in most]
    counts = _largest_remainder(wanted, batches)
    result: list[dict[str, int]] = [{} for _ in archetypes]
    for (site, key, _), count in zip(keys, counts, strict=True):
        result[site][key] = count
    return result


# --- the network -------------------------------------------------------------------------------------------

_SPECS = {spec.key: spec for spec in PROCESSES}


def _site(
    archetype: _Archetype,
    index: int,
    families: dict[str, domain.ProductFamily],
    demand: dict[str, int],
    horizon_days: int,
    origin: datetime,
    rng: random.Random,
) -> domain.Site:
    ordinal = index // len(ARCHETYPES) + 1
    city, region = archetype.places[(ordinal - 1) % len(archetype.places)]
    prefix = f"{archetype.letter}{ordinal}"
    site = domain.Site(
        name=f"Site {prefix} {city}",
        region=region,
        biosafety_level=archetype.biosafety_level,
        certifications=frozenset((*REGULATORS[region], *archetype.certifications)),
    )
    # Release testing this site's share of the order book occupies, in analyst-hours, kept ~70 % busy.
    analyst_hours = sum(count * _SPECS[key].qc_hours * _SPECS[key].qc_analysts for key, count in demand.items())
    analysts = max(4, math.ceil(analyst_hours / max(horizon_days * 24, 1) / 0.7) + 2)
    shutdown: tuple[int, int] | None = None
    if horizon_days >= 120:
        first = rng.randint(horizon_days * 3 // 10, horizon_days * 7 // 10)
        shutdown = (first * 24, (first + archetype.shutdown_days) * 24)
    numbers: dict[str, int] = {}
    for spec in archetype.suites:
        for _ in range(spec.count):
            numbers[spec.code] = numbers.get(spec.code, 0) + 1
            same, default, rules = CHANGEOVERS[spec.changeovers]
            is_lab = spec.kind is S.QC_LAB
            suite = domain.Suite(
                name=f"{prefix}-{spec.code}-{numbers[spec.code]:02d}",
                kind=spec.kind,
                scale=spec.scale,
                scale_unit=spec.unit,
                capabilities=frozenset(spec.capabilities.split()),
                construction=spec.construction,
                qc_analysts=analysts if is_lab else 0,
                same_product_hours=same,
                default_changeover_hours=default,
                changeovers=[domain.ChangeoverRule(families[a], families[b], hours) for a, b, hours in _rules(rules)],
            )
            if not is_lab:
                for begin, end, reason in _downtime(spec, shutdown, horizon_days, rng):
                    suite.add_downtime(
                        domain.DowntimeWindow(
                            start=origin + timedelta(hours=begin), end=origin + timedelta(hours=end), reason=reason
                        )
                    )
            site.add_suite(suite)
    return site


def _downtime(
    spec: _SuiteSpec, shutdown: tuple[int, int] | None, horizon_days: int, rng: random.Random
) -> list[tuple[int, int, str]]:
    """The site's annual shutdown and one or two short windows, in hours from the origin, apart by a day."""
    windows: list[tuple[int, int, str]] = []
    if shutdown is not None:
        windows.append((shutdown[0], shutdown[1], "annual site shutdown"))
    if horizon_days < 30:
        return windows
    wanted = rng.randint(1, 2) if horizon_days >= 180 else 1
    for _ in range(wanted * 10):
        if len(windows) >= wanted + (shutdown is not None):
            break
        length = rng.choice((24, 36, 48, 72))
        begin = rng.randint(3, horizon_days - 4) * 24 + 6
        end = begin + length
        if end > horizon_days * 24:
            continue
        if all(end + 24 <= other_begin or other_end + 24 <= begin for other_begin, other_end, _ in windows):
            windows.append((begin, end, rng.choice(spec.downtime_reasons)))
    return sorted(windows)


def _processes(sites: Sequence[domain.Site]) -> list[domain.ProcessTemplate]:
    """The process templates the network can run (every stage has a suite), with per-suite durations."""
    suites = {suite.name: suite for site in sites for suite in site.suites}
    result: list[domain.ProcessTemplate] = []
    for spec in PROCESSES:
        stages: list[domain.Stage] = []
        for stage_spec in spec.stages:
            stage = domain.Stage(
                name=stage_spec.name,
                suite_kind=stage_spec.kind,
                duration_hours=stage_spec.hours,
                capabilities=frozenset(stage_spec.capabilities.split()),
                max_hold_hours=stage_spec.hold,
            )
            if not domain.suites_able_to_run(stage, list(sites)):
                break
            for code, hours in stage_spec.faster_in:
                letter, rest = code.split("-", 1)
                for name, suite in suites.items():
                    if name.startswith(letter) and name.endswith(f"-{rest}") and stage.runs_in(suite):
                        stage.set_duration_in(suite, hours)
            stages.append(stage)
        else:
            result.append(
                domain.ProcessTemplate(
                    name=spec.name, stages=stages, qc_release_hours=spec.qc_hours, qc_analysts=spec.qc_analysts
                )
            )
    return result


# --- sponsors and programs ---------------------------------------------------------------------------------


def _sponsors_and_programs(
    scenario: domain.Scenario,
    lines: Sequence[_Line],
    families: dict[str, domain.ProductFamily],
    process_of: dict[str, domain.ProcessTemplate],
    sites: int,
    rng: random.Random,
) -> None:
    sizes = (
        [domain.SponsorSize.LARGE] * (2 + sites // 5)
        + [domain.SponsorSize.MID] * max(2, round(1.2 * sites))
        + [domain.SponsorSize.SMALL] * max(3, round(2.4 * sites))
    )
    stems = list(_NAME_STEMS)
    rng.shuffle(stems)
    names: set[str] = set()
    for i, size in enumerate(sizes):
        name = f"{stems[i % len(stems)]} {rng.choice(_NAME_ENDINGS[size])}"
        while name in names:
            name = f"{stems[i % len(stems)]} {rng.choice(_NAME_ENDINGS[size])} {i // len(stems) + 1}"
        names.add(name)
        scenario.sponsors.append(domain.Sponsor(name=name, size=size))

    # Every line at least once (so every modality and process has a program), then each sponsor's portfolio.
    portfolio: list[list[_Line]] = [[] for _ in scenario.sponsors]
    for i, line in enumerate(lines):
        portfolio[i % len(scenario.sponsors)].append(line)
    size_index = {domain.SponsorSize.LARGE: 0, domain.SponsorSize.MID: 1, domain.SponsorSize.SMALL: 2}
    for sponsor, held in zip(scenario.sponsors, portfolio, strict=True):
        low, high = _PROGRAMS_PER_SPONSOR[sponsor.size]
        weights = [line.weights[size_index[sponsor.size]] for line in lines]
        for _ in range(max(0, rng.randint(low, high) - len(held))):
            held.append(rng.choices(lines, weights=weights)[0] if sum(weights) > 0 else rng.choice(lines))
    used: set[str] = set()
    for sponsor, held in zip(scenario.sponsors, portfolio, strict=True):
        code = "".join(ch for ch in sponsor.name.split()[0].upper() if ch.isalpha())[:3]
        for line in held:
            number = rng.randint(100, 899)
            while f"{code}-{number}" in used:
                number += 1
            used.add(f"{code}-{number}")
            scenario.programs.append(
                domain.Program(
                    sponsor=sponsor,
                    name=f"{code}-{number}",
                    modality=line.modality,
                    phase=PHASES[rng.choice(line.phases)],
                    product_family=families[line.family],
                    process=process_of[line.process],
                )
            )


# --- orders ------------------------------------------------------------------------------------------------


@dataclass
class _OrderSpec:
    sequence: int
    program_index: int
    process_index: int
    family_index: int
    line: _Line
    batch_count: int
    release_day: int
    priority: int
    price: Decimal
    penalty: Decimal
    number: str = ""
    due_day: int = 0
    cancelled_lot: str | None = None
    jobs: list[_Job] = field(default_factory=list)


def _line_of(program: domain.Program) -> _Line:
    for line in LINES:
        same_kind = line.modality is program.modality and line.family == program.product_family.name
        if same_kind and _SPECS[line.process].name == program.process.name:
            return line
    raise AssertionError(f"no line for {program!r}")  # pragma: no cover - the demo builds programs from lines


def _order_specs(
    scenario: domain.Scenario,
    demand: dict[str, int],
    process_of: dict[str, domain.ProcessTemplate],
    horizon_days: int,
    rng: random.Random,
) -> list[_OrderSpec]:
    process_index = {id(process): i for i, process in enumerate(scenario.processes)}
    family_index = {id(family): i for i, family in enumerate(scenario.product_families)}
    specs: list[_OrderSpec] = []
    for key, total in demand.items():
        if total <= 0:
            continue
        process = process_of[key]
        programs = [i for i, program in enumerate(scenario.programs) if program.process is process]
        weights = [
            _ORDER_WEIGHT[scenario.programs[i].sponsor.size] * _PHASE_WEIGHT[scenario.programs[i].phase]
            for i in programs
        ]
        counts: list[tuple[int, int]] = []
        remaining = total
        while remaining > 0:
            program_index = rng.choices(programs, weights=weights)[0]
            low, high = _line_of(scenario.programs[program_index]).batches
            count = min(remaining, rng.randint(low, high))
            counts.append((program_index, count))
            remaining -= count
        lead_days = (sum(stage.duration_hours for stage in process.stages) + process.qc_release_hours) // 24
        span = max(horizon_days - lead_days, horizon_days // 2, 1)
        for i, (program_index, count) in enumerate(counts):
            program = scenario.programs[program_index]
            line = _line_of(program)
            price = Decimal(rng.randint(line.price[0], line.price[1]) * 1000)
            penalty = (price * count * Decimal(str(round(rng.uniform(*line.penalty), 4)))).quantize(Decimal(1))
            specs.append(
                _OrderSpec(
                    sequence=len(specs),
                    program_index=program_index,
                    process_index=process_index[id(process)],
                    family_index=family_index[id(program.product_family)],
                    line=line,
                    batch_count=count,
                    release_day=int((i + rng.random()) * span / len(counts)),  # stratified: no bursts
                    priority=int(rng.choice(line.priorities)),
                    price=price,
                    penalty=max(penalty, Decimal(100)),
                )
            )
    return specs


def _mark_under_way(specs: list[_OrderSpec], process_of: dict[str, domain.ProcessTemplate], rng: random.Random) -> None:
    """Move a handful of small orders before the horizon start so their first batches are under way."""
    taken: set[int] = set()
    for key, status in _UNDER_WAY:
        process = process_of.get(key)
        if process is None or len(taken) >= len(specs) // 12:
            continue
        candidates = [spec for spec in specs if spec.line.process == key and spec.sequence not in taken]
        if not candidates:
            continue
        spec = min(candidates, key=lambda spec: (spec.batch_count, spec.sequence))
        taken.add(spec.sequence)
        making = sum(stage.duration_hours for stage in process.stages)
        testing = process.qc_release_hours
        if status == "released":
            hours = making + testing + rng.randint(2, 10) * 24
        elif status == "in-qc":
            hours = making + testing // 2
        elif status == "completed":
            hours = making + 12
        else:
            hours = making // 2
        spec.release_day = -math.ceil(hours / 24)


def _choose_cancelled(specs: Sequence[_OrderSpec], wanted: bool, rng: random.Random) -> int | None:
    """The order that gets one cancelled (and replaced) lot: a planned biologics order."""
    if not wanted:
        return None
    candidates = [
        i
        for i, spec in enumerate(specs)
        if spec.release_day > 0 and spec.line.process in ("mab-2kl", "mab-15kl", "rp-2kl", "mab-500l")
    ]
    if not candidates:
        candidates = [i for i, spec in enumerate(specs) if spec.release_day > 0]
    return rng.choice(candidates) if candidates else None


def _status(job: _Job) -> domain.BatchStatus:
    """A batch's status at the horizon start (hour 0), from where its witness schedule puts it."""
    if job.stages[0][1] >= 0:
        return domain.BatchStatus.PLANNED
    if job.stages[-1][2] > 0:
        return domain.BatchStatus.IN_PROGRESS
    if job.stages[-1][2] > -48:
        return domain.BatchStatus.COMPLETED
    if job.finish > 0:
        return domain.BatchStatus.IN_QC
    return domain.BatchStatus.RELEASED


def _order(spec: _OrderSpec, scenario: domain.Scenario, start: date) -> domain.Order:
    program = scenario.programs[spec.program_index]
    order = domain.Order(
        number=spec.number,
        sponsor=program.sponsor,
        program=program,
        batch_count=spec.batch_count,
        release_date=start + timedelta(days=spec.release_day),
        due_date=start + timedelta(days=spec.due_day),
        priority=spec.priority,
        late_penalty_per_day=spec.penalty,
        price_per_batch=spec.price,
    )
    if spec.cancelled_lot is not None:
        order.add_batch(spec.cancelled_lot, domain.BatchStatus.CANCELLED, _CANCEL_REASON)
    for job in spec.jobs:
        order.add_batch(job.lot, _status(job))
    return order


# --- the witness schedule -----------------------------------------------------------------------------------


class _Timeline:
    """One suite's busy intervals in hours, sorted, each with the family and program that ran (-1: downtime).

    Between two batches the gap is the suite's changeover for that pair. Next to a downtime window it is the
    longest changeover into (or out of) the batch's family from any family the suite may run, so whatever ran
    on the other side of the window, the cleaning fits outside it.
    """

    __slots__ = (
        *("default", "ends", "families", "into", "longest", "name"),
        *("out_of", "programs", "rules", "same", "site", "starts"),
    )

    def __init__(self, suite: domain.Suite, site: int, family_index: dict[int, int], origin: datetime) -> None:
        self.name = suite.name
        self.site = site
        self.same = suite.same_product_hours
        self.default = suite.default_changeover_hours
        self.rules = {
            (family_index[id(rule.from_family)], family_index[id(rule.to_family)]): rule.hours
            for rule in suite.changeovers
        }
        self.longest = max([self.same, self.default, *self.rules.values()])
        self.into: dict[int, int] = {}
        self.out_of: dict[int, int] = {}
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.families: list[int] = []
        self.programs: list[int] = []
        for window in suite.downtime:
            begin = int((window.start - origin).total_seconds() // 3600)
            end = math.ceil((window.end - origin).total_seconds() / 3600)
            self.insert(begin, end, -1, -1)

    def runs(self, families: Sequence[int]) -> None:
        """Declare the families that may run here (for the gaps next to downtime)."""
        for family in families:
            self.into[family] = max(self.same, *(self._between(other, family) for other in families))
            self.out_of[family] = max(self.same, *(self._between(family, other) for other in families))

    def _between(self, family_a: int, family_b: int) -> int:
        return self.rules.get((family_a, family_b), self.default)

    def gap(self, family_a: int, program_a: int, family_b: int, program_b: int) -> int:
        if family_a < 0:
            return self.into.get(family_b, self.longest)
        if family_b < 0:
            return self.out_of.get(family_a, self.longest)
        if program_a == program_b:
            return self.same
        return self._between(family_a, family_b)

    def earliest(self, after: int, hours: int, family: int, program: int) -> int:
        """The earliest start at or after ``after`` where ``hours`` fit with the changeovers to both neighbours."""
        starts, ends, families, programs = self.starts, self.ends, self.families, self.programs
        i = bisect.bisect_right(starts, after)
        begin = after
        while True:
            if i > 0:
                begin = max(begin, ends[i - 1] + self.gap(families[i - 1], programs[i - 1], family, program))
            if i == len(starts):
                return begin
            if begin + hours + self.gap(family, program, families[i], programs[i]) <= starts[i]:
                return begin
            i += 1

    def insert(self, begin: int, end: int, family: int, program: int) -> None:
        i = bisect.bisect_right(self.starts, begin)
        self.starts.insert(i, begin)
        self.ends.insert(i, end)
        self.families.insert(i, family)
        self.programs.insert(i, program)

    def remove(self, begin: int) -> None:
        i = bisect.bisect_left(self.starts, begin)
        del self.starts[i], self.ends[i], self.families[i], self.programs[i]


class _Lab:
    """A QC lab: release tests hold some of its analysts for their whole duration."""

    __slots__ = ("analysts", "ends", "items", "longest", "name", "starts")

    def __init__(self, suite: domain.Suite) -> None:
        self.name = suite.name
        self.analysts = suite.qc_analysts
        self.starts: list[int] = []
        self.items: list[tuple[int, int, int]] = []  # (start, end, analysts), sorted by start
        self.ends: list[int] = []  # sorted
        self.longest = 0

    def earliest(self, after: int, hours: int, need: int) -> int:
        if self._fits(after, hours, need):
            return after
        for candidate in self.ends[bisect.bisect_right(self.ends, after) :]:
            if self._fits(candidate, hours, need):
                return candidate
        return max(after, self.ends[-1])  # pragma: no cover - the last end always fits

    def _fits(self, begin: int, hours: int, need: int) -> bool:
        low = bisect.bisect_left(self.starts, begin - self.longest)
        high = bisect.bisect_left(self.starts, begin + hours)
        events: list[tuple[int, int]] = []
        for item_start, item_end, item_need in self.items[low:high]:
            if item_end > begin:
                events.append((max(item_start, begin), item_need))
                events.append((item_end, -item_need))
        if not events:
            return need <= self.analysts
        events.sort()
        busy = 0
        for _, change in events:
            busy += change
            if busy + need > self.analysts:
                return False
        return True

    def insert(self, begin: int, end: int, need: int) -> None:
        i = bisect.bisect_right(self.starts, begin)
        self.starts.insert(i, begin)
        self.items.insert(i, (begin, end, need))
        bisect.insort(self.ends, end)
        self.longest = max(self.longest, end - begin)


_Options = list[tuple[_Timeline, int]]  # the suites that can run a stage, with its duration in each
_Plan = list[tuple[_Options, dict[int, _Options], int | None]]  # per stage: options, options per site, hold


class _Witness:
    """A feasible schedule of every active batch, built greedily in release order (see the module docstring)."""

    MAX_ATTEMPTS = 100_000

    def __init__(self, scenario: domain.Scenario, origin: datetime) -> None:
        family_index = {id(family): i for i, family in enumerate(scenario.product_families)}
        self.timelines: list[_Timeline] = []
        self.labs: list[_Lab] = []
        timeline_of: dict[int, _Timeline] = {}
        for site_index, site in enumerate(scenario.sites):
            lab: _Lab | None = None
            for suite in site.suites:
                if suite.kind is S.QC_LAB:
                    lab = lab or _Lab(suite)
                else:
                    timeline = _Timeline(suite, site_index, family_index, origin)
                    timeline_of[id(suite)] = timeline
                    self.timelines.append(timeline)
            if lab is None:  # pragma: no cover - every archetype has a QC lab
                raise AssertionError(f"{site.name} has no QC lab")
            self.labs.append(lab)
        # per process, per stage: every (timeline, hours) that can run it, and the same grouped by site
        self.stages: list[_Plan] = []
        self.release: list[tuple[int, int]] = []
        runs: dict[int, set[int]] = {}  # timeline -> families that may run there
        for process in scenario.processes:
            plan: _Plan = []
            process_families = {family_index[id(p.product_family)] for p in scenario.programs if p.process is process}
            for stage in process.stages:
                options = [
                    (timeline_of[id(suite)], stage.duration_in(suite))
                    for suite in domain.suites_able_to_run(stage, scenario.sites)
                ]
                for timeline, _ in options:
                    runs.setdefault(id(timeline), set()).update(process_families)
                by_site: dict[int, list[tuple[_Timeline, int]]] = {}
                for option in options:
                    by_site.setdefault(option[0].site, []).append(option)
                plan.append((options, by_site, stage.max_hold_hours))
            self.stages.append(plan)
            self.release.append((process.qc_release_hours, process.qc_analysts))
        for timeline in self.timelines:
            timeline.runs(sorted(runs.get(id(timeline), ())))

    def place(self, job: _Job) -> None:
        """Place the batch at the site where its stages finish earliest, then its QC release."""
        plan = self.stages[job.process]
        best: list[tuple[_Timeline, int, int]] | None = None
        for site in plan[0][1]:
            placed = self._chain(job, plan, site)
            for timeline, begin, _ in placed:
                timeline.remove(begin)
            if best is None or placed[-1][2] < best[-1][2]:
                best = placed
        assert best is not None
        for timeline, begin, end in best:
            timeline.insert(begin, end, job.family, job.program)
        job.stages = [(timeline.name, begin, end) for timeline, begin, end in best]
        hours, need = self.release[job.process]
        if hours:
            lab = self.labs[best[-1][0].site]
            begin = lab.earliest(best[-1][2], hours, need)
            lab.insert(begin, begin + hours, need)
            job.qc = (lab.name, begin, begin + hours, need)

    def _chain(self, job: _Job, plan: _Plan, site: int) -> list[tuple[_Timeline, int, int]]:
        """The stages one after the other at ``site`` (elsewhere if it cannot run one), within every hold.

        The stages stay in their timelines (so a later stage in the same suite keeps its changeover); the
        caller removes them.
        """
        lower = job.lower
        for _ in range(self.MAX_ATTEMPTS):
            placed: list[tuple[_Timeline, int, int]] = []
            after = lower
            for index, (options, by_site, _) in enumerate(plan):
                best: tuple[int, _Timeline, int] | None = None
                for timeline, hours in by_site.get(site, options):
                    begin = timeline.earliest(after, hours, job.family, job.program)
                    if best is None or begin < best[0]:
                        best = (begin, timeline, hours)
                assert best is not None
                begin, timeline, hours = best
                hold = plan[index - 1][2] if index else None
                if hold is not None and begin > after + hold:
                    lower = placed[0][1] + (begin - after - hold)  # start the batch later and try again
                    for timeline, begin, _ in placed:
                        timeline.remove(begin)
                    break
                timeline.insert(begin, begin + hours, job.family, job.program)
                placed.append((timeline, begin, begin + hours))
                after = begin + hours
            else:
                return placed
        raise AssertionError(f"the demo's witness schedule could not place {job.lot}")  # pragma: no cover

    def utilization(self, horizon: int) -> dict[str, float]:
        """Busy share of each suite's available time within the horizon (downtime excluded)."""
        result: dict[str, float] = {}
        for timeline in self.timelines:
            busy = down = 0
            for begin, end, family in zip(timeline.starts, timeline.ends, timeline.families, strict=True):
                overlap = max(0, min(end, horizon) - max(begin, 0))
                if family < 0:
                    down += overlap
                else:
                    busy += overlap
            result[timeline.name] = busy / max(horizon - down, 1)
        for lab in self.labs:
            used = sum(max(0, min(end, horizon) - max(begin, 0)) * need for begin, end, need in lab.items)
            result[lab.name] = used / (horizon * lab.analysts)
        return result
