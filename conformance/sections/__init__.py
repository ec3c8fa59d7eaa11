"""The sections of the conformance vectors, one module each (``conformance/generate.py`` assembles them)."""
