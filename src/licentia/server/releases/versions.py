"""Release versions: PEP 440 (``2.4.0``, ``2.0rc1``, ``1.4.post2``) or Semantic Versioning 2.0.0 (``3.0.0-nightly``).

A version is read as PEP 440 first (``packaging``, which also reads the SemVer
versions PEP 440 shares, such as ``1.2.3-rc.1``); a SemVer version PEP 440
does not take (``3.0.0-nightly``, ``1.0.0-alpha.beta``) is read by the
regular expression semver.org gives. Both order the same way where they
overlap: by the release numbers, then a pre-release before its release; two
SemVer pre-releases by SemVer's precedence rules.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from licentia.server.errors import ApiError, ErrorCode

# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
VERSION_RULE = "a version is PEP 440 (2.4.0, 2.0rc1) or SemVer (3.0.0-nightly)"


def _identifier(part: str) -> tuple[int, int, str]:
    # SemVer: numeric identifiers compare as numbers and come before alphanumeric ones.
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


# PEP 440's pre-release stages in SemVer's words, to order a PEP 440 version among SemVer ones.
STAGES = {"a": "alpha", "b": "beta", "rc": "rc"}
Key = tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]


@functools.total_ordering
@dataclass(frozen=True)
class SemVer:
    """A SemVer version PEP 440 does not read; it orders among SemVer and PEP 440 versions alike."""

    release: tuple[int, int, int]
    prerelease: tuple[str, ...]

    def __lt__(self, other: object) -> bool:
        return _key(self) < _key(other) if isinstance(other, SemVer | Version) else NotImplemented

    def __eq__(self, other: object) -> bool:
        return _key(self) == _key(other) if isinstance(other, SemVer | Version) else NotImplemented

    def __hash__(self) -> int:
        return hash(_key(self))


def _key(version: SemVer | Version) -> Key:
    """SemVer's precedence: the release numbers, then a pre-release before its release, then its identifiers."""
    release: tuple[int, ...]
    if isinstance(version, SemVer):
        release, pre = version.release, version.prerelease
    else:
        release = version.release + (0,) * (3 - len(version.release))
        pre = (STAGES[version.pre[0]], str(version.pre[1])) if version.pre else ()
        pre = pre or (("dev", str(version.dev)) if version.dev is not None else ())
    return release, 0 if pre else 1, tuple(_identifier(part) for part in pre)


ReleaseVersion = Version | SemVer


def parse_version(text: str) -> ReleaseVersion:
    """``text`` as a version to order releases by, or refused (``invalid_version``) with the rule."""
    try:
        return Version(text)
    except InvalidVersion:
        pass
    found = SEMVER.match(text)
    if found is None:
        raise ApiError(ErrorCode.INVALID_VERSION, f"{text!r} is not a version: {VERSION_RULE}")
    release = (int(found["major"]), int(found["minor"]), int(found["patch"]))
    return SemVer(release, tuple(found["prerelease"].split(".")) if found["prerelease"] else ())


def version_or_none(text: str) -> ReleaseVersion | None:
    """``text`` as a version, or None for one stored before these rules took it (left out of "newest")."""
    try:
        return parse_version(text)
    except ApiError:
        return None
