"""The demo CDMO: a realistic, deterministic network and order book (``opencdmo demo``).

Figures come from ``../shared/domain/demo-parameters.md``. The package holds four ideas, one module each:
``catalogue`` (the data: families, cleaning, site archetypes, processes, what sponsors buy), ``network`` (sites
and process templates), ``orderbook`` (how many batches where, sponsors, programs, orders) and ``witness`` (a
feasible schedule that sets the due dates); ``builder`` puts them together.

**Network.** Sites cycle through five archetypes, so the default five sites show every market segment:

====  =====================================  ==========================================================
site  archetype                              suites (first cycle; later sites are larger)
====  =====================================  ==========================================================
A     biologics, commercial                  4 x 15,000 L stainless + 2 x 2,000 L single-use upstream,
                                             3 downstream trains, QC lab (later: + 2 x 2,000 L)
B     biologics, clinical / flex (BSL-2)     4 x 2,000 L + 2 x 500 L single-use (viral vectors in the
                                             500 L), 2 downstream trains, QC lab (later: + 1 train)
C     small-molecule API, oral solids and    4 reactors of 4-16 m3, a high-potency suite, OSD
      nutraceuticals ("other" segment)       formulation, nutraceutical encapsulation, packaging, QC lab
                                             (later: + a nutraceutical line and a bottling line)
D     sterile fill-finish, diagnostics and   compounding, isolator line, clinical line, freeze dryer,
      devices ("other" segment)              reagent formulation, device assembly, packaging, QC lab
                                             (later: + 2 inspection and kitting lines)
E     cell therapy (BSL-2)                   7 patient-specific suites, QC lab (later: 10)
====  =====================================  ==========================================================

That is 44 suites for five sites and 206 for twenty. Every site has a QC lab whose analysts are sized to the
release testing its share of the order book needs (about 70 % busy). Changeover (cleaning) rules follow the
parameters: stainless CIP/SIP 2-4 days, single-use 1-2 days, fill lines 1-3 shifts, nutraceuticals 1 day, a
shorter time within a campaign, and a few longer family pairs (out of high potency, out of viral vectors).
Each site has an annual shutdown and each suite one or two short maintenance windows inside the horizon.

**Order book.** Each archetype states, per process, its batches a year at the default density and at capacity
(``catalogue.Demand``). The default demo (300 batches on five sites over twelve months) loads the biologics
suites most: the bioreactors and downstream trains run batches about 55-60 % of their available time (70-80 %
with cleaning), the QC labs about 50 %, the quicker segments much less. A larger order book fills the least
loaded processes first and then grows in proportion to capacity, so every site's bottlenecks are about equally
busy: 20 sites and 5,000 batches keep cell therapy about 75 % busy, formulation about 65 %, the bioreactors
about 60 %, and every order due within about six weeks after the year. Beyond capacity orders finish later.
Cell-therapy orders are one patient each. Every sponsor has at least one order (when there are enough
batches); large sponsors have many. A handful of orders were released before the horizon start and have
batches in progress, completed, in QC or released; one lot is cancelled and replaced.

**Due dates are feasible by construction.** The witness schedule (``witness``) places every active batch, in
release order, within the network's capacity, changeovers, downtime, hold times and QC analysts. An order's due
date is the witness completion of its last batch plus 5-25 % of the process's own lead time (stages and QC
release), rounded up to a whole day. So at least one plan meets every due date, and the dates are tight
because that plan is greedy and leaves little room.

Deterministic per seed: one ``random.Random(seed)``, and nothing iterates over a set.
"""

from opencdmo.demo.builder import MAX_BATCHES, MAX_MONTHS, MAX_SITES, build_demo

__all__ = ["MAX_BATCHES", "MAX_MONTHS", "MAX_SITES", "build_demo"]
