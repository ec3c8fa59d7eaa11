"""Piracy signals and a 0-100 risk score, each factor explained in a sentence.

Every signal is computed from the stored timeline only (no extra lookups), so
the same score comes out of the developer API, the CLI and a report written
months later. Weights are whole numbers because the score goes into signed
documents, and canonical JSON carries no floats.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from licentia.core.vocabulary import EventKind
from licentia.server.audit import counted
from licentia.server.evidence.subjects import Subject

# A purchase flow (find the shop, pay, receive the key by email, paste it) takes
# minutes; an activation seconds after installing means the key came with the
# copy, as in a "cracked, pre-registered" bundle.
FAST_REGISTER_SECONDS = 60
# A person uses a key from home, the office, a phone hotspot; more is sharing.
NORMAL_NETWORKS = 3
NORMAL_ORGANISATIONS = 1
LEVELS = ((60, "high"), (25, "medium"), (0, "low"))
# A computer's parts are replaced once in a while; one installation whose hardware changes
# this often within the window is a state passed from computer to computer.
HOPPING_CHANGES = 3
HOPPING_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Factor:
    name: str
    value: int
    weight: int  # the most this factor can add to the score
    points: int  # what it adds here
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Risk:
    score: int
    level: str
    factors: list[Factor]

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "level": self.level, "factors": [f.as_dict() for f in self.factors]}


def _points(weight: int, excess: int, saturation: int) -> int:
    if excess <= 0:
        return 0
    return min(weight, -(-weight * excess // saturation))  # ceiling division: any excess counts


def _factor(name: str, value: int, weight: int, *, usual: int = 0, saturation: int, sentence: str) -> Factor:
    """A factor whose ``value`` past ``usual`` adds points, up to ``weight`` once ``saturation`` past it."""
    return Factor(name, value, weight, _points(weight, value - usual, saturation), sentence)


def network_of(address: Any) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) around an address: one household or office, not one device."""
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def domain_of(host: Any) -> str | None:
    """The organisation part of a reverse host name: ``dsl-5.example.co.uk`` -> ``example.co.uk``."""
    if not isinstance(host, str) or not host.strip():
        return None
    labels = host.strip().rstrip(".").lower().split(".")
    if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2:
        return ".".join(labels[-3:])  # second-level country domains such as co.uk, com.au
    return ".".join(labels[-2:])


def organisations(events: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for event in events:
        facts = event.client_facts or {}
        for name in ("organization", "registered_organization", "domain"):
            value = facts.get(name)
            if isinstance(value, str) and value.strip():
                found.add(value.strip().lower())
        domain = domain_of((event.server_facts or {}).get("reverse_host"))
        if domain:
            found.add(domain)
    return found


def _install_times(subject: Subject) -> dict[str, dt.datetime]:
    first: dict[str, dt.datetime] = {d.id: d.first_seen for d in subject.devices}
    for event in subject.events:
        if event.kind == EventKind.INSTALL and event.device_id:
            when = event.occurred_at or event.received_at
            if event.device_id not in first or when < first[event.device_id]:
                first[event.device_id] = when
    return first


def _fast_registrations(subject: Subject) -> list[int]:
    installed = _install_times(subject)
    # A recognised reinstall presents the key it was bought with again: quick, and no purchase.
    reinstalled = {d.id for d in subject.devices if getattr(d, "previous_id", None)}
    seconds = []
    for event in subject.events:
        if event.device_id in reinstalled:
            continue
        if event.kind == EventKind.REGISTER and (event.data or {}).get("result") == "activated":
            start = installed.get(event.device_id or "")
            if start is not None:
                gap = int((event.received_at - start).total_seconds())
                if gap < FAST_REGISTER_SECONDS:
                    seconds.append(max(gap, 0))
    return seconds


def hardware_hops(events: Iterable[Any]) -> int:
    """The most hardware changes of one installation within :data:`HOPPING_WINDOW`."""
    times: dict[str, list[dt.datetime]] = {}
    for event in events:
        if event.kind == EventKind.HARDWARE_CHANGED and event.device_id:
            times.setdefault(event.device_id, []).append(event.received_at)
    most = 0
    for seen in times.values():
        seen.sort()
        start = 0
        for end, at in enumerate(seen):
            while at - seen[start] > HOPPING_WINDOW:
                start += 1
            most = max(most, end - start + 1)
    return most


def assess(subject: Subject) -> Risk:
    evs = subject.events
    clones = [e for e in evs if e.kind == EventKind.CLONE_SUSPECTED]
    refused = {
        e.device_id for e in evs if e.kind == EventKind.REGISTER and (e.data or {}).get("result") == "too_many_devices"
    }
    keygen = [e for e in evs if e.kind == EventKind.INVALID_KEY and (e.data or {}).get("reason") == "not_issued"]
    keygen_prefixes = sorted({str((e.data or {}).get("key_prefix")) for e in keygen})
    networks = {n for e in evs if (n := network_of((e.server_facts or {}).get("external_ip")))}
    orgs = organisations(evs)
    fast = _fast_registrations(subject)
    hops = hardware_hops(evs)
    days = HOPPING_WINDOW.days
    whose = "this key" if subject.kind == "license" else "this device"

    factors = [
        _factor(
            "clones",
            len(clones),
            30,
            saturation=2,
            sentence=f"{counted(len(clones), 'copied installation')} caught presenting an outdated token or moved "
            "state."
            if clones
            else "No copied installation was caught.",
        ),
        _factor(
            "devices_beyond_limit",
            len(refused),
            25,
            saturation=3,
            sentence=f"{counted(len(refused), 'more device')} tried to activate {whose} after all its seats were taken."
            if refused
            else "No device was refused for lack of a free seat.",
        ),
        _factor(
            "networks",
            len(networks),
            15,
            usual=NORMAL_NETWORKS,
            saturation=7,
            sentence=f"Used from {len(networks)} different networks (/24 or /48); up to {NORMAL_NETWORKS} is usual "
            "for one customer (home, office, mobile).",
        ),
        _factor(
            "organisations",
            len(orgs),
            15,
            usual=NORMAL_ORGANISATIONS,
            saturation=3,
            sentence=f"Seen in {counted(len(orgs), 'organisation or domain', 'organisations or domains')}"
            + (f": {', '.join(sorted(orgs)[:5])}" if orgs else "")
            + f"; more than {NORMAL_ORGANISATIONS} suggests the key is shared between companies.",
        ),
        _factor(
            "never_issued_keys",
            len(keygen),
            25,
            saturation=1,
            sentence=f"{counted(len(keygen), 'attempt')} with license keys that were never issued (prefixes "
            f"{', '.join(keygen_prefixes)}): a key generator is in use."
            if keygen
            else "No key that was never issued was tried.",
        ),
        _factor(
            "instant_registration",
            len(fast),
            10,
            saturation=1,
            sentence=f"{counted(len(fast), 'activation')} within {FAST_REGISTER_SECONDS} s of installing "
            f"(fastest {min(fast)} s), quicker than any real purchase: the key came with the copy."
            if fast
            else f"No activation came within {FAST_REGISTER_SECONDS} s of installing.",
        ),
        Factor(
            "hardware_hopping",
            hops,
            20,
            _points(20, hops - HOPPING_CHANGES + 1, 2),
            f"{hops} hardware changes of one installation within {days} days: its state is being passed from "
            "computer to computer."
            if hops >= HOPPING_CHANGES
            else f"No installation changed hardware {HOPPING_CHANGES} times within {days} days.",
        ),
    ]
    score = min(100, sum(f.points for f in factors))
    level = next(name for floor, name in LEVELS if score >= floor)
    return Risk(score, level, factors)
