"""Where an application's data and the SDK's escrow live by default: the folders ``platformdirs`` names.

``platformdirs`` is the authority, but importing it costs an application's start more than the
offline check itself (``pathlib``, ``re``, ``enum``, ``tempfile``: about 25 ms). On Linux and macOS,
when the environment is the ordinary one (an absolute ``$HOME``, no Android), its rule is two lines,
and this module answers from them; everywhere else (Windows and its known-folder API, Android, iOS,
other Unixes, a missing or relative home) it asks ``platformdirs`` itself. A test holds the two equal
on every rule answered here.
"""

from __future__ import annotations

import os
import posixpath
import sys

# The user folder under the home directory, per platform and kind (platformdirs' defaults).
_HOME_FOLDERS = {
    "linux": {"data": ".local/share", "config": ".config"},
    "darwin": {"data": "Library/Application Support", "config": "Library/Application Support"},
}
_XDG = {"data": "XDG_DATA_HOME", "config": "XDG_CONFIG_HOME"}  # honoured on macOS too


def user_data_dir(app: str) -> str:
    """``platformdirs.user_data_dir(app, appauthor=False)``."""
    found = fast_user_dir("data", app, sys.platform, os.environ)
    if found is not None:
        return found
    import platformdirs

    return platformdirs.user_data_dir(app, appauthor=False)


def user_config_dir(app: str) -> str:
    """``platformdirs.user_config_dir(app, appauthor=False)``."""
    found = fast_user_dir("config", app, sys.platform, os.environ)
    if found is not None:
        return found
    import platformdirs

    return platformdirs.user_config_dir(app, appauthor=False)


def fast_user_dir(kind: str, app: str, platform: str, environ: os._Environ[str] | dict[str, str]) -> str | None:
    """The folder by platformdirs' rule where it is plain, else None (then platformdirs decides)."""
    folders = _HOME_FOLDERS.get(platform)
    if folders is None or _android(environ):
        return None
    xdg = environ.get(_XDG[kind], "")
    if posixpath.isabs(xdg):
        return os.path.join(xdg, app)
    home = environ.get("HOME", "")
    if not posixpath.isabs(home):
        return None  # platformdirs asks the password database, or gives up
    return os.path.join(home.rstrip("/") + "/" + folders[kind], app)


def _android(environ: os._Environ[str] | dict[str, str]) -> bool:
    return hasattr(sys, "getandroidapilevel") or (
        environ.get("ANDROID_DATA") == "/data" and environ.get("ANDROID_ROOT") == "/system"
    )
