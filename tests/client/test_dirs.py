"""The SDK's default folders are the ones platformdirs names, on every rule the SDK answers itself.

The SDK answers Linux and macOS from their rule (platformdirs' imports cost an application's start
more than its offline check); everywhere else, and wherever the environment is unusual, it asks
platformdirs. Each case sets the environment, then compares both answers for data and config.
"""

from __future__ import annotations

import os

import platformdirs
import pytest
from platformdirs.macos import MacOS
from platformdirs.unix import Unix

from licentia.client import dirs

HOME = {"HOME": "/home/ana"}
CASES = {
    "home": HOME,
    "home with a trailing slash": {"HOME": "/home/ana/"},
    "home is the root": {"HOME": "/"},
    "home with a doubled slash": {"HOME": "//net/ana"},
    "XDG folders": {**HOME, "XDG_DATA_HOME": "/srv/data", "XDG_CONFIG_HOME": "/srv/config/"},
    "relative XDG folders are ignored": {**HOME, "XDG_DATA_HOME": "data", "XDG_CONFIG_HOME": "./config"},
    "empty XDG folders are ignored": {**HOME, "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": " "},
    "relative home": {"HOME": "ana"},
    "no home": {},
    "an Android app's environment": {**HOME, "ANDROID_DATA": "/data", "ANDROID_ROOT": "/system"},
}
PLATFORMS = {"linux": Unix, "darwin": MacOS}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> dict[str, str]:
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "ANDROID_DATA", "ANDROID_ROOT", "SHELL", "PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in request.param.items():
        monkeypatch.setenv(name, value)
    return dict(request.param)


@pytest.mark.parametrize("environment", CASES.values(), ids=CASES.keys(), indirect=True)
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("app", ["licentia", "acme-editor"])
def test_each_rule_the_sdk_answers_is_platformdirs_rule(environment: dict[str, str], platform: str, app: str) -> None:
    reference = PLATFORMS[platform](app, appauthor=False)
    data = dirs.fast_user_dir("data", app, platform, os.environ)
    config = dirs.fast_user_dir("config", app, platform, os.environ)
    if "HOME" in environment and os.path.isabs(environment["HOME"]) and "ANDROID_DATA" not in environment:
        assert (data, config) == (reference.user_data_dir, reference.user_config_dir)
    else:
        assert (data, config) == (None, None)  # platformdirs decides


@pytest.mark.parametrize("environment", CASES.values(), ids=CASES.keys(), indirect=True)
def test_the_sdk_names_the_folder_platformdirs_names_here(environment: dict[str, str]) -> None:
    # Whichever way it takes on this machine (its own rule or platformdirs' answer).
    assert dirs.user_data_dir("acme-editor") == platformdirs.user_data_dir("acme-editor", appauthor=False)
    assert dirs.user_config_dir("licentia") == platformdirs.user_config_dir("licentia", appauthor=False)


def test_other_platforms_are_left_to_platformdirs() -> None:
    for platform in ("win32", "ios", "freebsd14", "cygwin"):
        assert dirs.fast_user_dir("data", "licentia", platform, {"HOME": "/home/ana"}) is None
