"""The status document of an activated installation names the licensee and the installation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from licentia.core.signing import load_public_key, verify_document
from tests.client.conftest import FakeMachine, app
from tests.conftest import LiveServer
from tests.server.helpers import auth, fingerprint


def test_an_activated_installation_knows_its_licensee_online_and_offline(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "cto@acme.example", "--name", "Acme GmbH")
    assert issued.returncode == 0, issued.stderr
    lic = app(server, tmp_path / "data", machine)
    trial = lic.check()
    assert trial.customer is None and trial.device  # a trial has no licensee yet
    status = lic.activate(issued.stdout.strip())
    assert status.customer is not None and status.customer["name"] == "Acme GmbH"
    assert isinstance(status.customer["id"], int)
    offline = lic.check(online=False)
    assert offline.customer == status.customer and offline.device == status.device


def test_the_signed_document_states_customer_and_installation(server: LiveServer, tmp_path: Path) -> None:
    """What a verifier of the offline license file reads: signed, so nobody can rename the licensee."""
    issued = server.cli("license", "issue", "--product", "my-app", "--email", "it@beta.example", "--name", "Beta Ltd")
    assert issued.returncode == 0, issued.stderr
    body = {"product": "my-app", "fingerprint": fingerprint("my-app")}
    first = httpx.post(server.url + "/v1/check", json=body, timeout=30).json()
    answer = httpx.post(
        server.url + "/v1/activate",
        json={**body, "key": issued.stdout.strip(), "token": first["signed"]["document"]["token"]},
        headers=auth(first["credential"]),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    kid, key = load_public_key(server.public_key())
    document = verify_document(json.loads(answer.content)["signed"], {kid: key}, product="my-app")
    assert document["device"] == first["credential"]["device"]
    assert document["license"]["customer"]["name"] == "Beta Ltd"
