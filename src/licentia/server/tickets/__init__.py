"""Installer tickets: a signed token in every distributed copy (minted per download, verified at first contact)."""
