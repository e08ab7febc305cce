"""The package version, in a module of its own so that run records can cite it without loading
the ``harness`` facade (which would import back up the data flow)."""

__version__ = "0.1.0"
