"""OpenCDMO: the open operating platform of a contract development and manufacturing organization."""

__version__ = "0.1.0"
