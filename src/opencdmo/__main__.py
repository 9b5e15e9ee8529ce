"""`python -m opencdmo` runs the command line."""

from opencdmo.cli import main

main()
