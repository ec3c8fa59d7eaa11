"""The Licentia server (needs the ``server`` extra)."""
