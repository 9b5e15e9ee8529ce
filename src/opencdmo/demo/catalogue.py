"""What the demo CDMO is made of: product families, cleaning, site archetypes, processes, what sponsors buy.

Figures come from ``../shared/domain/demo-parameters.md``; the comments name the row they use. Everything here
is data; ``network`` and ``orderbook`` turn it into a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from opencdmo import domain

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


def changeover_rules(text: str) -> list[tuple[str, str, int]]:
    rules = []
    for item in text.split():
        pair, hours = item.split(":")
        from_family, to_family = pair.split(">")
        rules.append((from_family, to_family, int(hours)))
    return rules


# --- site archetypes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteSpec:
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
class Demand:
    """How many batches of one process a year a site of an archetype takes.

    ``default`` is its share of the default demo (300 batches on five sites), where the bioreactors and
    downstream trains are the busiest. ``capacity`` (a first-cycle site) and ``expanded`` (a larger later site)
    are a mix that loads the site's bottleneck suites evenly and about fully, changeovers included. They were
    calibrated against the witness schedule, and are kept below what a suite could run flat out where queues
    grow fast: biologics couple two long stages by a 24-48 h hold time and come in orders of several batches.
    """

    process: str  # a key of PROCESSES
    default: float
    capacity: float
    expanded: float


@dataclass(frozen=True)
class Archetype:
    letter: str
    segment: str
    biosafety_level: int
    shutdown_days: int
    places: tuple[tuple[str, str], ...]  # (city, region)
    certifications: tuple[str, ...]  # besides the region's regulators
    suites: tuple[SuiteSpec, ...]
    expansion: tuple[SuiteSpec, ...]  # what sites after the first cycle of archetypes have on top
    demand: tuple[Demand, ...]

    def suite_specs(self, expanded: bool) -> tuple[SuiteSpec, ...]:
        """The site's suites; an expansion joins the suites of the same code, the QC lab stays last."""
        if not expanded:
            return self.suites
        specs = list(self.suites)
        for extra in self.expansion:
            at = max((i for i, spec in enumerate(specs) if spec.code == extra.code), default=len(specs) - 2)
            specs.insert(at + 1, extra)
        return tuple(specs)


L, KG, UNITS = domain.ScaleUnit.LITRE, domain.ScaleUnit.KILOGRAM, domain.ScaleUnit.UNITS
SU, SS = domain.Construction.SINGLE_USE, domain.Construction.STAINLESS
NA, EU, AP = "North America", "Europe", "Asia-Pacific"
REGULATORS = {NA: ("fda", "health-canada"), EU: ("ema", "fda"), AP: ("fda", "pmda")}
_FILL_REASONS = ("media fill (aseptic process simulation)", "isolator requalification", "preventive maintenance")
_QC_LAB = SuiteSpec("QCL", 1, S.QC_LAB, 1, UNITS, None, "bioassay hplc microbiology", "qc", ())
_USP_2KL = SuiteSpec("USP", 2, S.UPSTREAM, 2_000, L, SU, "bioreactor-2000l cell-culture single-use", "usp-single-use")
_D_PKG = SuiteSpec("PKG", 1, S.PACKAGING, 100_000, UNITS, None, "inspection kitting labelling", "packaging")
_CTS = SuiteSpec("CTS", 7, S.CELL_THERAPY, 1, UNITS, SU, "bsl2 closed-system grade-b", "cell-therapy",
                 ("room requalification", "preventive maintenance"))  # fmt: skip

# fmt: off
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "A", "biologics", 1, 14, (("Boston", NA), ("Singapore", AP), ("Cork", EU), ("Incheon", AP)), ("ema",),
        (
            SuiteSpec("USP", 4, S.UPSTREAM, 15_000, L, SS, "bioreactor-15000l cell-culture stainless",
                      "usp-stainless"),
            _USP_2KL,
            SuiteSpec("DSP", 2, S.DOWNSTREAM, 15_000, L, SS, "chromatography large-scale viral-filtration",
                      "dsp-stainless"),
            SuiteSpec("DSP", 1, S.DOWNSTREAM, 15_000, L, SS,
                      "chromatography continuous-chromatography large-scale viral-filtration", "dsp-stainless"),
            _QC_LAB,
        ),
        (_USP_2KL,),  # a second single-use hall
        (Demand("mab-15kl", 55, 68, 68), Demand("mab-2kl", 33, 26, 48), Demand("rp-2kl", 22, 18, 34)),
    ),
    Archetype(
        "B", "biologics", 2, 14, (("Basel", EU), ("San Diego", NA), ("Shanghai", AP), ("Leiden", EU)), (),
        (
            SuiteSpec("USP", 4, S.UPSTREAM, 2_000, L, SU, "bioreactor-2000l bsl2 cell-culture single-use",
                      "usp-single-use"),
            SuiteSpec("USP", 2, S.UPSTREAM, 500, L, SU, "bioreactor-500l bsl2 cell-culture single-use viral-vector",
                      "usp-single-use"),
            SuiteSpec("DSP", 2, S.DOWNSTREAM, 2_000, L, SU, "bsl2 chromatography viral-filtration", "dsp-single-use"),
            _QC_LAB,
        ),
        (SuiteSpec("DSP", 1, S.DOWNSTREAM, 2_000, L, SU, "bsl2 chromatography viral-filtration", "dsp-single-use"),),
        (Demand("mab-500l", 19, 21, 21), Demand("mab-2kl", 24, 26, 40), Demand("vaccine-2kl", 15, 21, 34),
         Demand("aav-500l", 18, 30, 30)),
    ),
    Archetype(
        "C", "small molecule", 1, 10,
        (("Research Triangle", NA), ("Visp", EU), ("Hyderabad", AP), ("Grange Castle", EU)), ("nsf-gmp",),
        (
            SuiteSpec("SYN", 1, S.SYNTHESIS, 4_000, L, SS, "cryogenic glass-lined", "synthesis"),
            SuiteSpec("SYN", 1, S.SYNTHESIS, 6_300, L, SS, "glass-lined", "synthesis"),
            SuiteSpec("SYN", 1, S.SYNTHESIS, 10_000, L, SS, "hastelloy hydrogenation", "synthesis"),
            SuiteSpec("SYN", 1, S.SYNTHESIS, 16_000, L, SS, "hastelloy", "synthesis"),
            SuiteSpec("HPA", 1, S.SYNTHESIS, 2_000, L, SS, "containment high-potency", "synthesis-hp"),
            SuiteSpec("OSD", 1, S.FORMULATION, 480, KG, SS, "osd", "osd"),
            SuiteSpec("NUT", 1, S.FORMULATION, 2_000, KG, SS, "nutraceutical", "nutraceutical"),
            SuiteSpec("PKG", 1, S.PACKAGING, 800_000, UNITS, None, "blister bottling", "packaging"),
            _QC_LAB,
        ),
        (  # a second nutraceutical line with its own bottling line
            SuiteSpec("NUT", 1, S.FORMULATION, 2_000, KG, SS, "nutraceutical", "nutraceutical"),
            SuiteSpec("PKG", 1, S.PACKAGING, 400_000, UNITS, None, "bottling", "packaging"),
        ),
        (Demand("api", 17, 55, 55), Demand("hpapi", 5, 20, 20), Demand("osd", 16, 100, 100),
         Demand("nutraceutical", 14, 180, 360)),
    ),
    Archetype(
        "D", "fill-finish", 1, 10, (("Bloomington", NA), ("Monza", EU), ("Kobe", AP), ("Halle", EU)), ("iso-13485",),
        (
            SuiteSpec("CMP", 1, S.FORMULATION, 2_000, L, SS, "aseptic-compounding", "compounding"),
            SuiteSpec("FIL", 1, S.FILL_FINISH, 60_000, UNITS, None, "aseptic isolator syringes vials", "fill-isolator",
                      _FILL_REASONS),
            SuiteSpec("FIL", 1, S.FILL_FINISH, 10_000, UNITS, None, "aseptic rabs vials", "fill-clinical",
                      _FILL_REASONS),
            SuiteSpec("LYO", 1, S.FILL_FINISH, 60_000, UNITS, None, "lyophilization", "lyophilizer"),
            SuiteSpec("DXR", 1, S.FORMULATION, 500, L, None, "diagnostic-reagents", "diagnostic"),
            SuiteSpec("DEV", 1, S.PACKAGING, 100_000, UNITS, None, "cleanroom-iso7 device-assembly", "device"),
            _D_PKG,
            _QC_LAB,
        ),
        (_D_PKG, _D_PKG),  # two more inspection and kitting lines
        (Demand("sterile-liquid", 8, 50, 90), Demand("sterile-lyo", 5, 30, 50),
         Demand("sterile-clinical", 6, 80, 145), Demand("diagnostic", 6, 40, 100), Demand("device", 5, 50, 110)),
    ),
    Archetype(
        "E", "cell therapy", 2, 7, (("Philadelphia", NA), ("Geleen", EU), ("Osaka", AP), ("Morris Plains", NA)), (),
        (_CTS, _QC_LAB),
        (replace(_CTS, count=3),),  # ten patient suites in all
        (Demand("cart-commercial", 19, 160, 230), Demand("cart-clinical", 13, 95, 145)),
    ),
)
# fmt: on


# --- processes -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: domain.SuiteKind
    hours: int
    capabilities: str  # space-separated labels
    hold: int | None
    faster_in: tuple[tuple[str, int], ...] = ()  # (suite such as "A-DSP-03", hours): at every such site


@dataclass(frozen=True)
class ProcessSpec:
    key: str
    name: str
    stages: tuple[StageSpec, ...]
    qc_hours: int
    qc_analysts: int


_DAY = 24
_HARVEST = "Harvest and purification"
_CAR_T = "Activation, transduction, expansion and cryopreservation"

# fmt: off
PROCESSES: tuple[ProcessSpec, ...] = (
    # mAb: production (N-stage) 14 days; harvest to bulk drug substance 4-7 days; release 30-60 days
    ProcessSpec("mab-15kl", "mAb drug substance, 15,000 L stainless (CHO fed-batch)", (
        StageSpec("Production culture", S.UPSTREAM, 14 * _DAY, "bioreactor-15000l stainless", 48),
        StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "chromatography large-scale", None),
    ), 45 * _DAY, 3),
    ProcessSpec("mab-2kl", "mAb drug substance, 2,000 L single-use (CHO fed-batch)", (
        StageSpec("Production culture", S.UPSTREAM, 14 * _DAY, "bioreactor-2000l single-use", 48),
        StageSpec(_HARVEST, S.DOWNSTREAM, 5 * _DAY, "chromatography viral-filtration", None,
                   (("A-DSP-03", 4 * _DAY),)),  # continuous chromatography
    ), 40 * _DAY, 2),
    ProcessSpec("mab-500l", "mAb clinical drug substance, 500 L single-use", (
        StageSpec("Production culture", S.UPSTREAM, 12 * _DAY, "bioreactor-500l single-use", 48),
        StageSpec(_HARVEST, S.DOWNSTREAM, 4 * _DAY, "chromatography", None),
    ), 30 * _DAY, 2),
    ProcessSpec("rp-2kl", "Recombinant protein, 2,000 L single-use", (
        StageSpec("Production culture", S.UPSTREAM, 12 * _DAY, "bioreactor-2000l single-use", 24),
        StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "chromatography", None),
    ), 35 * _DAY, 2),
    ProcessSpec("vaccine-2kl", "Subunit vaccine, 2,000 L single-use (BSL-2)", (
        StageSpec("Production culture", S.UPSTREAM, 10 * _DAY, "bioreactor-2000l bsl2", 24),
        StageSpec(_HARVEST, S.DOWNSTREAM, 6 * _DAY, "bsl2 chromatography", None),
    ), 50 * _DAY, 2),
    ProcessSpec("aav-500l", "AAV vector, 500 L single-use (BSL-2)", (
        StageSpec("Transfection and production", S.UPSTREAM, 7 * _DAY, "bsl2 viral-vector", 24),
        StageSpec("Lysis and purification", S.DOWNSTREAM, 5 * _DAY, "bsl2 chromatography", None),
    ), 45 * _DAY, 2),
    # small molecule: 1-5 days per synthetic step; release 7-21 days
    ProcessSpec("api", "Small-molecule API, 4-step synthesis", (
        StageSpec("Step 1 coupling", S.SYNTHESIS, 96, "glass-lined", None),
        StageSpec("Step 2 hydrogenation", S.SYNTHESIS, 72, "hydrogenation", None),
        StageSpec("Step 3 deprotection", S.SYNTHESIS, 72, "hastelloy", 30 * _DAY),
        StageSpec("Step 4 crystallisation and drying", S.SYNTHESIS, 96, "glass-lined", None, (("C-SYN-02", 72),)),
    ), 14 * _DAY, 2),
    ProcessSpec("hpapi", "High-potency API, 3-step contained synthesis", (
        StageSpec("HP step 1", S.SYNTHESIS, 96, "high-potency", None),
        StageSpec("HP step 2", S.SYNTHESIS, 72, "high-potency", None),
        StageSpec("HP isolation and drying", S.SYNTHESIS, 72, "high-potency", None),
    ), 21 * _DAY, 2),
    ProcessSpec("osd", "Oral solid dose, 480 kg tablet batch", (
        StageSpec("Granulation, compression and coating", S.FORMULATION, 72, "osd", 30 * _DAY),
        StageSpec("Blister packaging", S.PACKAGING, 24, "blister", None),
    ), 10 * _DAY, 2),
    # other segment (assumptions): nutraceutical release 3-7 days, diagnostics 2-4 weeks, devices 1-2 weeks
    ProcessSpec("nutraceutical", "Nutraceutical capsules, 1,000 kg batch", (
        StageSpec("Blending and encapsulation", S.FORMULATION, 48, "nutraceutical", 14 * _DAY),
        StageSpec("Bottling", S.PACKAGING, 24, "bottling", None),
    ), 5 * _DAY, 1),
    ProcessSpec("diagnostic", "Diagnostic reagent kit lot (1,000-50,000 kits)", (
        StageSpec("Reagent formulation and filling", S.FORMULATION, 72, "diagnostic-reagents", 14 * _DAY),
        StageSpec("Kitting and labelling", S.PACKAGING, 48, "kitting", None),
    ), 21 * _DAY, 1),
    ProcessSpec("device", "Device component lot (1,000-100,000 units)", (
        StageSpec("Component assembly", S.PACKAGING, 72, "device-assembly", None),
        StageSpec("Packaging and labelling", S.PACKAGING, 24, "labelling", None),
    ), 10 * _DAY, 1),
    # fill-finish: lyophilization cycle 2-5 days; release 3-5 weeks including the 14-day sterility test
    ProcessSpec("sterile-liquid", "Sterile liquid vials, isolator line (up to 60,000 units)", (
        StageSpec("Compounding", S.FORMULATION, 24, "aseptic-compounding", 24),
        StageSpec("Aseptic filling", S.FILL_FINISH, 36, "aseptic isolator", 30 * _DAY),
        StageSpec("Inspection and labelling", S.PACKAGING, 48, "inspection", None),
    ), 28 * _DAY, 2),
    ProcessSpec("sterile-lyo", "Lyophilized vials, isolator line", (
        StageSpec("Compounding", S.FORMULATION, 24, "aseptic-compounding", 24),
        StageSpec("Aseptic filling", S.FILL_FINISH, 24, "aseptic isolator", 4),
        StageSpec("Lyophilization", S.FILL_FINISH, 96, "lyophilization", 30 * _DAY),
        StageSpec("Inspection and labelling", S.PACKAGING, 48, "inspection", None),
    ), 35 * _DAY, 2),
    ProcessSpec("sterile-clinical", "Clinical sterile fill (up to 10,000 units)", (
        StageSpec("Compounding", S.FORMULATION, 16, "aseptic-compounding", 24),
        StageSpec("Aseptic filling", S.FILL_FINISH, 16, "aseptic", 30 * _DAY, (("D-FIL-01", 12),)),
        StageSpec("Inspection and labelling", S.PACKAGING, 24, "inspection", None),
    ), 21 * _DAY, 2),
    # cell therapy: one patient per batch; collection to release 14-16 days commercially; QC 14-42 days
    ProcessSpec("cart-commercial", "Autologous CAR-T, commercial", (
        StageSpec(_CAR_T, S.CELL_THERAPY, 8 * _DAY, "closed-system", None, (("E-CTS-07", 7 * _DAY),)),  # automated
    ), 14 * _DAY, 1),
    ProcessSpec("cart-clinical", "Autologous CAR-T, clinical", (
        StageSpec(_CAR_T, S.CELL_THERAPY, 11 * _DAY, "closed-system", None),
    ), 28 * _DAY, 1),
)
# fmt: on


PROCESS_SPECS = {spec.key: spec for spec in PROCESSES}


# --- what sponsors buy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
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
LINES: tuple[Line, ...] = (
    Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-15kl", "3CC", (6, 2, 0.2), (2, 6), (3_000, 8_000), "23"),
    Line(M.MONOCLONAL_ANTIBODY, "bispecific", "mab-15kl", "C", (2, 1, 0), (2, 4), (3_500, 8_000), "23"),
    Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-2kl", "23CC", (4, 4, 2), (1, 5), (1_000, 3_000), "234"),
    Line(M.MONOCLONAL_ANTIBODY, "bispecific", "mab-2kl", "23", (2, 3, 2), (1, 4), (1_200, 3_000), "23"),
    Line(M.MONOCLONAL_ANTIBODY, "mab-igg", "mab-500l", "0122", (1, 3, 5), (1, 3), (500, 1_200), "234"),
    Line(M.RECOMBINANT_PROTEIN, "recombinant-protein", "rp-2kl", "23CC", (3, 3, 1), (1, 5), (900, 2_500), "234"),
    Line(M.VACCINE, "vaccine", "vaccine-2kl", "13C", (3, 2, 1), (2, 6), (800, 2_000), "123"),
    Line(M.VIRAL_VECTOR, "viral-vector", "aav-500l", "0123", (1, 2, 4), (1, 3), (1_500, 3_500), "23"),
    Line(M.SMALL_MOLECULE_API, "api-general", "api", "23CC", (5, 3, 1), (2, 8), (300, 1_500), "234"),
    Line(M.SMALL_MOLECULE_API, "hpapi", "hpapi", "123C", (2, 2, 2), (1, 4), (500, 2_000), "23"),
    Line(M.ORAL_SOLID_DOSE, "osd", "osd", "23CC", (4, 3, 1), (3, 10), (100, 400), "34"),
    Line(M.STERILE_INJECTABLE, "sterile-liquid", "sterile-liquid", "3CC", (4, 3, 1), (2, 8), (200, 600), "23"),
    Line(M.STERILE_INJECTABLE, "sterile-lyophilized", "sterile-lyo", "3CC", (2, 2, 1), (2, 6), (300, 800), "23"),
    Line(M.STERILE_INJECTABLE, "sterile-liquid", "sterile-clinical", "12", (1, 2, 4), (1, 3), (80, 300), "234"),
    Line(M.CELL_THERAPY, "car-t", "cart-commercial", "C", (3, 2, 1), (1, 1), (150, 350), "112", (0.02, 0.05)),
    Line(M.CELL_THERAPY, "car-t", "cart-clinical", "12", (1, 2, 5), (1, 1), (120, 300), "12", (0.02, 0.05)),
    Line(M.NUTRACEUTICAL, "nutraceutical", "nutraceutical", "C", (1, 3, 4), (4, 10), (20, 80), "345"),
    Line(M.DIAGNOSTIC, "diagnostic-reagent", "diagnostic", "C", (1, 2, 4), (2, 6), (50, 250), "345"),
    Line(M.MEDICAL_DEVICE, "device-component", "device", "C", (1, 2, 4), (3, 10), (30, 150), "345"),
)
# fmt: on


NAME_STEMS = (
    "Aldera", "Altamira", "Borealis", "Brightwater", "Cascadia", "Corvana", "Delmora", "Dunmore", "Evergreen",
    "Fenwick", "Galenix", "Halcyon", "Istra", "Juniper", "Kestrel", "Lumora", "Meridian", "Norvale", "Orison",
    "Pellucid", "Quillon", "Ravenna", "Solenne", "Tessaly", "Umbral", "Veridia", "Westmark", "Xanthe", "Yarrow",
    "Zephyra",
)  # fmt: skip
NAME_ENDINGS = {
    domain.SponsorSize.LARGE: ("Pharma", "Pharmaceuticals", "Biopharma", "Health"),
    domain.SponsorSize.MID: ("Therapeutics", "Biosciences", "Biologics", "Life Sciences"),
    domain.SponsorSize.SMALL: ("Bio", "Therapeutics", "Biotherapeutics", "Medical", "Labs"),
}
PROGRAMS_PER_SPONSOR = {
    domain.SponsorSize.LARGE: (6, 9),
    domain.SponsorSize.MID: (2, 4),
    domain.SponsorSize.SMALL: (1, 2),
}
ORDER_WEIGHT = {domain.SponsorSize.LARGE: 4.0, domain.SponsorSize.MID: 2.0, domain.SponsorSize.SMALL: 1.0}
PHASE_WEIGHT = {PHASES[code]: weight for code, weight in zip("0123C", (0.5, 1.0, 1.0, 2.0, 3.0), strict=True)}

# Orders released before the horizon start whose batches are under way: (process, target status).
UNDER_WAY = (
    ("cart-commercial", "released"),
    ("mab-2kl", "in-progress"),
    ("cart-clinical", "in-qc"),
    ("api", "in-progress"),
    ("osd", "completed"),
    ("sterile-liquid", "in-qc"),
    ("mab-15kl", "in-progress"),
    ("nutraceutical", "released"),
)
CANCEL_REASON = "Cell bank vial failed viability at thaw; lot cancelled before inoculation and replaced"
