"""Shared library of the ML portfolio monorepo: datasets, metrics, plots, tracking, reports."""

__version__ = "0.1.0"
