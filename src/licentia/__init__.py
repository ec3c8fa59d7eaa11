"""Licentia: know and control who runs your software.

The base package is the client SDK (:mod:`licentia.client`) and the pure domain
rules it shares with the server (:mod:`licentia.core`). The server lives in
:mod:`licentia.server` and needs the ``server`` extra.
"""

__version__ = "0.1.0"
