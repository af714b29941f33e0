"""The package version, in one place (pyproject reads it; reports and exports stamp it)."""

__version__ = "0.1.0"
