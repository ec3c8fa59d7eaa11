"""A reinstall is the same installation: the credential kept outside the data folder (the escrow).

The uninstaller deletes the application's data folder; installed again at the
same path on the same computer, the application resumes its installation: the
same device id, the same license, no new installation in the vendor's counts.
Tested with the file the SDK keeps in the user's configuration directory and
with a keyring backend chosen through keyring's own mechanism (this machine runs
no OS credential store).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

import licentia
from licentia.client.escrow import Escrow
from tests.client.conftest import FakeMachine, app, events_of
from tests.client.memory_keyring import FileKeyring
from tests.client.test_activate import issue_key
from tests.conftest import LiveServer


def credential_files(config: Path) -> list[Path]:
    return sorted((config / "licentia" / "credentials").glob("*")) if (config / "licentia").exists() else []


@pytest.fixture
def os_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """keyring's backend for this test: a store standing for the OS's (entries in one file)."""
    monkeypatch.setenv("LICENTIA_TEST_KEYRING", str(tmp_path / "os-store.json"))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield tmp_path / "os-store.json"
    keyring.set_keyring(before)


def test_a_reinstall_resumes_the_installation_with_its_license(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    data = tmp_path / "data"
    key = issue_key(server)
    first = app(server, data, machine)
    trial = first.check()
    registered = first.activate(key)
    assert registered.state == "registered"
    [kept] = credential_files(user_config)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert key.encode() not in kept.read_bytes() and key.replace("-", "").encode() not in kept.read_bytes()

    shutil.rmtree(data)  # the uninstaller
    again = app(server, data, machine).check()
    assert again.online and again.device == trial.device and again.state == "registered"
    installs = [e for e in events_of(server, trial.device or "") if e[0] == "install"]
    assert len(installs) == 1  # reported once, when it was first installed


def test_the_os_credential_store_is_used_where_one_works(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path, os_store: Path
) -> None:
    data = tmp_path / "data"
    device = app(server, data, machine).check().device
    assert credential_files(user_config) == []  # the OS's store holds it, not a file
    [(name, entry)] = json.loads(os_store.read_text()).items()
    assert name.startswith("licentia\n") and json.loads(entry)["device"] == device
    shutil.rmtree(data)
    assert app(server, data, machine).check().device == device


def test_a_second_data_path_never_takes_another_installations_credential(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    one = app(server, tmp_path / "one", machine).check()
    two = app(server, tmp_path / "two", machine).check()
    assert one.device != two.device and len(credential_files(user_config)) == 2


def test_the_escrowed_credential_on_another_computer_is_a_copy(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    """The escrow's file carried to a computer that shares no hardware with the original."""
    data = tmp_path / "data"
    key = issue_key(server)
    owner = app(server, data, machine)
    assert owner.activate(key).state == "registered"
    device = owner.check().device
    other = FakeMachine(tmp_path / "other-pc", disk="OTHER-DISK", mac="00:1b:21:3a:4f:99")
    data.rename(tmp_path / "owner-data")  # the other computer: the same path, nothing in it but the escrow
    copy = app(server, data, other).check()
    assert copy.state == "trial" and copy.clone_suspected and copy.device != device
    shutil.rmtree(data)
    (tmp_path / "owner-data").rename(data)  # back on the owner's computer: its license stays
    assert app(server, data, machine).check().state == "registered"


def test_uninstall_forget_removes_the_escrow(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path, os_store: Path
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    device = lic.check().device
    lic.uninstall(forget=True)
    assert json.loads(os_store.read_text()) == {} and credential_files(user_config) == []
    shutil.rmtree(data)
    assert app(server, data, machine).check().device != device  # a new installation (the machine's trial)


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b"[1,2]", b'{"device": "dv_1"}', b"{" * 5000,
     json.dumps({"device": "dv_x", "secret": "s", "server": "http://elsewhere", "product": "my-app",
                 "data_path": "0" * 64}).encode()],
)  # fmt: skip
def test_a_damaged_or_foreign_escrow_entry_is_ignored(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, content: bytes
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    path = Path(lic.escrow.path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert lic.check().online  # a first contact, as without an escrow
    assert lic.escrow.load() == lic.state_file.load().credential


def test_an_escrowed_credential_the_server_voided_gives_way_to_a_new_installation(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    lic.check()
    escrow = lic.escrow
    device, _secret = escrow.load() or ("", "")
    escrow.save((device, "not-the-secret"))
    shutil.rmtree(data)
    again = app(server, data, machine).check()
    assert again.online and again.device != device  # recognised as a new installation on this machine
    assert escrow.load() == app(server, data, machine).state_file.load().credential


def test_an_offline_start_with_its_state_never_loads_keyring(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    app(server, data, machine).check()
    code = (
        "import sys; from licentia.client import Licentia\n"
        f"lic = Licentia('http://127.0.0.1:9', 'my-app', {server.public_key()!r}, {str(data)!r},"
        f" fingerprint_root={str(machine.root)!r})\n"
        "s = lic.check(online=False)\n"
        "print(s.allowed, 'keyring' in sys.modules, 'licentia.client.escrow' in sys.modules)"
    )
    src = str(Path(licentia.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": src}, check=True)  # fmt: skip
    assert done.stdout.split() == ["True", "False", "False"]


def test_the_escrow_is_keyed_by_server_product_and_data_path(tmp_path: Path) -> None:
    a = Escrow("https://licensing.example.com/", "my-app", "a" * 64)
    assert a.account == Escrow("https://licensing.example.com", "my-app", "a" * 64).account
    others = {Escrow("https://other.example.com", "my-app", "a" * 64).account,
              Escrow("https://licensing.example.com", "other-app", "a" * 64).account,
              Escrow("https://licensing.example.com", "my-app", "b" * 64).account}  # fmt: skip
    assert a.account not in others and len(others) == 3


def test_an_installation_made_before_the_escrow_is_escrowed_at_its_next_online_check(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    data = tmp_path / "data"
    lic = app(server, data, machine)
    device = lic.check().device
    lic.escrow.forget()
    from tests.client.conftest import read_state, write_state

    write_state(data, {k: v for k, v in read_state(data).items() if k != "escrowed"})  # as an older SDK wrote it
    assert lic.check().online and lic.escrow.load() is not None
    shutil.rmtree(data)
    assert app(server, data, machine).check().device == device


def test_a_reinstall_is_recorded_as_one_and_an_upgrade_that_deleted_the_folder_as_an_upgrade(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    device = app(server, data, machine, app_version="2.0").check().device or ""
    shutil.rmtree(data)  # the same version installed again
    assert app(server, data, machine, app_version="2.0").check().device == device
    shutil.rmtree(data)  # 3.0's installer deleted 2.0's folder
    assert app(server, data, machine, app_version="3.0").check().device == device
    kinds = [(kind, json.loads(data_)) for kind, _id, data_ in events_of(server, device)]
    assert [k for k, _ in kinds].count("install") == 1
    assert [k for k, _ in kinds if k == "reinstall"] == ["reinstall"]
    [upgrade] = [d for k, d in kinds if k == "upgrade"]
    assert (upgrade["from"], upgrade["to"]) == ("2.0", "3.0")


def test_a_copy_started_first_on_another_computer_does_not_take_the_license_from_its_owner(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    """The whole data folder carried to a computer that shares no hardware with the original."""
    data = tmp_path / "data"
    owner = app(server, data, machine)
    registered = owner.activate(issue_key(server))
    other = FakeMachine(tmp_path / "other-pc", disk="OTHER-DISK", mac="00:1b:21:3a:4f:77")
    shutil.copytree(data, tmp_path / "owner-data")
    copy = app(server, data, other).check()  # the copy checks in before the owner does
    assert copy.state == "trial" and copy.reason == "moved_to_other_machine" and copy.device != registered.device
    shutil.rmtree(data)
    (tmp_path / "owner-data").rename(data)
    back = app(server, data, machine).check()
    assert back.state == "registered" and back.device == registered.device


def test_an_explicit_move_to_another_data_folder_keeps_the_installation(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, user_config: Path
) -> None:
    old_dir, new_dir = tmp_path / "v2-data", tmp_path / "v3-data"
    old = app(server, old_dir, machine, app_version="2.0")
    registered = old.activate(issue_key(server))
    saved_old_state = (old_dir / "state.json").read_bytes()
    new = app(server, new_dir, machine, app_version="3.0")
    moved = new.move_from(old_dir)
    assert moved.online and moved.device == registered.device and moved.state == "registered"
    assert not (old_dir / "state.json").exists() and new.check(online=False).state == "registered"
    assert new.check().device == registered.device  # the new folder's state is the installation's now
    [upgrade] = [json.loads(d) for k, _i, d in events_of(server, registered.device or "") if k == "upgrade"]
    assert upgrade["via"] == "move" and (upgrade["from"], upgrade["to"]) == ("2.0", "3.0")
    # The escrow follows the installation to its new data path.
    shutil.rmtree(new_dir)
    assert app(server, new_dir, machine, app_version="3.0").check().device == registered.device
    # The old folder's state, put back, is a copy now: it does not run the license there.
    (old_dir / "state.json").write_bytes(saved_old_state)
    stale = app(server, old_dir, machine, app_version="2.0").check()
    assert stale.state != "registered"


def test_a_move_needs_an_installation_in_the_old_folder_and_an_empty_new_one(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    from licentia.client import ConfigurationError

    (tmp_path / "empty").mkdir()
    new = app(server, tmp_path / "new", machine)
    with pytest.raises(ConfigurationError, match="no installation"):
        new.move_from(tmp_path / "empty")
    app(server, tmp_path / "old", machine).check()
    new.check()
    with pytest.raises(ConfigurationError, match="already holds an installation"):
        new.move_from(tmp_path / "old")
    with pytest.raises(ConfigurationError, match="own"):
        new.move_from(tmp_path / "new")


def test_the_cli_moves_an_installation(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    from licentia.client.cli import main

    device = app(server, tmp_path / "old", machine).check().device
    common = ["--server", server.url, "--product", "my-app", "--public-key", server.public_key(),
              "--fingerprint-root", str(machine.root), "--json"]  # fmt: skip
    assert main([*common, "--data-dir", str(tmp_path / "new"), "move", "--from", str(tmp_path / "old")]) == 0
    assert app(server, tmp_path / "new", machine).check(online=False).device == device
