"""Piracy signals and the risk score on constructed histories."""

from __future__ import annotations

import datetime as dt

import pytest

from licentia.server.evidence.risk import assess, domain_of, network_of
from licentia.server.evidence.subjects import device_subject, license_subject
from tests.conftest import START
from tests.server.evidence.history import History


@pytest.fixture
def history(engine, product):
    return History(engine, product)


def _risk(engine, ref=None, device=None):
    with engine.connect() as conn:
        subject = device_subject(conn, device) if device else license_subject(conn, ref)
    return assess(subject)


def _factor(risk, name):
    return next(f for f in risk.factors if f.name == name)


def test_an_ordinary_customer_is_low_risk(engine, history):
    lic = history.license()
    for n, ip in enumerate(["198.51.100.7", "198.51.100.200", "203.0.113.4"]):  # home (twice), office
        dev = history.device(lic.id, START + dt.timedelta(days=n))
        history.event(dev, "install", at=START + dt.timedelta(days=n), ip=ip)
        history.event(
            dev,
            "register",
            at=START + dt.timedelta(days=n, minutes=20),
            ip=ip,
            license_id=lic.id,
            data={"result": "activated", "key_prefix": lic.key_prefix},
            client_facts={"registered_organization": "Acme Ltd"},
        )
    risk = _risk(engine, lic.key_prefix)
    assert risk.level == "low" and risk.score == 0, risk
    assert _factor(risk, "networks").value == 2  # two /24s
    assert all(f.sentence for f in risk.factors)


def test_a_shared_cracked_key_is_high_risk_and_every_factor_says_why(engine, history):
    lic = history.license(max_devices=1)
    owner = history.device(lic.id)
    history.event(owner, "install", at=START)
    # Installed and registered 12 s later: the key came with the copy.
    history.event(
        owner, "register", at=START + dt.timedelta(seconds=12), license_id=lic.id, data={"result": "activated"}
    )
    history.event(owner, "clone_suspected", license_id=lic.id, data={"reason": "stale_token"})
    for n in range(4):
        other = history.device(None)
        history.event(
            other,
            "register",
            ip=f"203.0.{n + 10}.9",
            license_id=lic.id,
            data={"result": "too_many_devices", "key_prefix": lic.key_prefix},
            client_facts={"domain": f"corp{n}.example"},
            server_facts={"external_ip": f"203.0.{n + 10}.9", "reverse_host": f"host{n}.isp{n}.example.net"},
        )
        history.event(other, "invalid_key", data={"reason": "not_issued", "key_prefix": "ZZZZZ"})
    risk = _risk(engine, str(lic.id))
    assert risk.level == "high" and risk.score == 95  # 15 + 25 + 5 + 15 + 25 + 10
    assert _factor(risk, "devices_beyond_limit").value == 4
    assert _factor(risk, "clones").value == 1 and _factor(risk, "clones").points == 15
    assert _factor(risk, "never_issued_keys").value == 4 and "ZZZZZ" in _factor(risk, "never_issued_keys").sentence
    assert _factor(risk, "instant_registration").value == 1 and "12 s" in _factor(risk, "instant_registration").sentence
    assert _factor(risk, "networks").value == 5
    assert _factor(risk, "organisations").value == 5  # 4 client domains + example.net
    for factor in risk.factors:
        assert 0 <= factor.points <= factor.weight and isinstance(factor.points, int)


def test_device_risk_counts_only_that_device(engine, history):
    keygen_user = history.device()
    history.event(keygen_user, "invalid_key", data={"reason": "not_issued", "key_prefix": "ABCDE"})
    history.event(keygen_user, "invalid_key", data={"reason": "format", "key_prefix": "QQ"})
    innocent = history.device()
    history.event(innocent, "check")
    risk = _risk(engine, device=keygen_user)
    assert _factor(risk, "never_issued_keys").value == 1 and risk.score == 25 and risk.level == "medium"
    assert _risk(engine, device=innocent).score == 0


def test_networks_and_domains():
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_of("testclient") is None
    assert domain_of("dsl-5.example.co.uk") == "example.co.uk"
    assert domain_of("host1.isp.example.net.") == "example.net"
    assert domain_of(None) is None


def test_license_reference_by_full_key_prefix_or_id(engine, history):
    from licentia.server.errors import ApiError

    lic = history.license()
    with engine.connect() as conn:
        for ref in (lic.key, lic.key_prefix, lic.key_prefix.lower(), str(lic.id)):
            assert license_subject(conn, ref).license.id == lic.id
        with pytest.raises(ApiError):
            license_subject(conn, "ZZZZZZ")
