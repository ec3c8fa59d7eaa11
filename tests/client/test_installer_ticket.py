"""The installer ticket beside the installer, end to end: the SDK sends it at first contact to a real server.

A leaked installer is traced back to its download; a reinstall of the same
installation reusing the file is not a copy; a damaged file is not sent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from licentia.client import ServerRefused
from licentia.client.tickets import MAX_TICKET_BYTES, ticket_problem
from tests.client.conftest import FakeMachine, app, events_of, server_db
from tests.conftest import LiveServer


def mint(server: LiveServer, folder: Path, *options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "licentia-ticket.json"
    server.cli("ticket", "mint", "--product", "my-app", "--out", str(path), *options)
    return path


def starts(server: LiveServer, ticket: Path) -> list[tuple[str, int]]:
    ticket_id = json.loads(ticket.read_text())["document"]["ticket"]
    conn = server_db(server)
    try:
        sql = "SELECT device_id, copy FROM installer_ticket_starts WHERE ticket_id = ? ORDER BY id"
        return [tuple(row) for row in conn.execute(sql, (ticket_id,)).fetchall()]
    finally:
        conn.close()


def test_a_leaked_installer_started_on_another_computer_is_recorded_as_a_copy_of_its_download(
    server: LiveServer, tmp_path: Path
) -> None:
    ticket = mint(server, tmp_path / "download")
    buyer_pc = FakeMachine(tmp_path / "pc-a", disk="DISK-A")
    pirate_pc = FakeMachine(tmp_path / "pc-b", disk="DISK-B", machine="b" * 32, mac="00:1b:21:3a:4f:99")

    buyer = app(server, tmp_path / "data-a", buyer_pc, installer_ticket=ticket).check()
    assert buyer.allowed and not buyer.clone_suspected
    pirate = app(server, tmp_path / "data-b", pirate_pc, installer_ticket=ticket).check()
    assert pirate.state == "trial" and pirate.clone_suspected  # the product's on_clone is flag
    [(_kind, _id, data)] = events_of(server, pirate.device or "", "clone_suspected")
    evidence = json.loads(data)
    assert evidence["reason"] == "installer_ticket_copied" and evidence["copy_of"] == buyer.device
    assert evidence["installer_ticket"]["id"] == json.loads(ticket.read_text())["document"]["ticket"]
    assert [copy for _device, copy in starts(server, ticket)] == [0, 1]


def test_a_reinstall_reusing_its_ticket_is_the_same_installation_not_a_copy(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    ticket = mint(server, tmp_path / "download")
    data = tmp_path / "data"
    first = app(server, data, machine, installer_ticket=ticket).check()
    shutil.rmtree(data)  # the uninstaller; the escrow keeps the credential
    again = app(server, data, machine, installer_ticket=ticket).check()
    assert again.device == first.device and not again.clone_suspected
    shutil.rmtree(data)
    shutil.rmtree(user_config / "licentia")  # a formatted disk: no escrow either
    formatted = app(server, data, machine, installer_ticket=ticket).check()
    assert formatted.device != first.device and not formatted.clone_suspected
    assert [copy for _device, copy in starts(server, ticket)] == [0, 0]  # two installations, one computer
    assert events_of(server, formatted.device or "", "clone_suspected") == []


def test_an_edited_ticket_is_refused_and_a_damaged_one_is_not_sent(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    ticket = mint(server, tmp_path / "download")
    signed = json.loads(ticket.read_text())
    signed["document"]["customer"] = 1  # the pirate names another buyer
    edited = tmp_path / "edited" / "licentia-ticket.json"
    edited.parent.mkdir()
    edited.write_text(json.dumps(signed))
    refused = app(server, tmp_path / "data-e", machine, installer_ticket=edited)
    assert not refused.check().allowed
    with pytest.raises(ServerRefused) as caught:
        refused.credential()
    assert caught.value.code == "invalid_installer_ticket" and caught.value.status == 422

    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(ticket.read_bytes()[:-20])
    started = app(server, tmp_path / "data-d", machine, installer_ticket=damaged).check()
    assert started.allowed and started.state == "trial"  # a first contact as without a ticket
    missing = app(server, tmp_path / "data-m", machine, installer_ticket=tmp_path / "nowhere.json").check()
    assert missing.allowed
    assert starts(server, ticket) == []


def test_which_ticket_files_a_client_refuses_to_send() -> None:
    good = {"document": {"kind": "installer_ticket", "product": "p"}, "kid": "k", "sig": "s"}
    assert ticket_problem(json.dumps(good).encode()) is None
    assert ticket_problem(b" " * (MAX_TICKET_BYTES + 1)) == f"larger than {MAX_TICKET_BYTES} bytes"
    assert ticket_problem(b"\xff\xfe{}") == "not UTF-8 JSON"
    assert ticket_problem(b"[1, 2]") == "not an installer ticket"
    assert ticket_problem(json.dumps({**good, "document": {"kind": "status"}}).encode()) == "not an installer ticket"
    assert ticket_problem(json.dumps({**good, "sig": 3}).encode()) == "not a signed document"
