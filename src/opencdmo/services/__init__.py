"""Use cases: plain values and a unit of work in, plain values out. The only code that commits."""
