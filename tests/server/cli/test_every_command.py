"""Every command of the ``licentia`` tree runs on a populated database and says what it did.

The cases are keyed by the command's path in the parser tree, and the tree is
walked to find every command: a command added without a case here fails
``test_every_command_has_a_case``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from licentia.server.cli import build_parser, main
from tests.conftest import LiveServer
from tests.server.notify.conftest import SmtpServer, WebhookReceiver
from tests.server.organisations.cli_cases import ORGANISATION_CASES


@dataclass
class Cli:
    """``main()`` in this process, with the populated data directory; output captured."""

    data_dir: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, stdin: str = "", code: int = 0) -> str:
        self.capsys.readouterr()
        sys.stdin = io.StringIO(stdin)
        try:
            returned = main([*args, "--data-dir", str(self.data_dir)])
        finally:
            sys.stdin = sys.__stdin__
        out, err = self.capsys.readouterr()
        assert returned == code, f"licentia {' '.join(args)} -> {returned}: {err}"
        if code == 0:
            assert "Traceback" not in err
        return out if code == 0 else err


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command that runs (a parser with a ``run`` default)."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        assert parser.get_default("run") is not None, path
        yield path
        return
    for action in subcommands:
        for name, child in action.choices.items():
            yield from leaf_commands(child, (*path, name))


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory filled by ``licentia demo`` (small), shared by every case.

    The demo's history leans on weekdays, so what it sells depends on the day it runs: this
    size sells a license (and makes its customer) whatever the weekday (each tried with faketime).
    """
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    assert main(["demo", "--devices", "60", "--days", "14", "--data-dir", str(data_dir)]) == 0
    return data_dir


@pytest.fixture
def cli(populated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    for name in ("LICENTIA_DATABASE_URL", "LICENTIA_DATA_DIR", "LICENTIA_CONFIG", "LICENTIA_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "operator")
    return Cli(populated, capsys)


def first_field(text: str) -> str:
    return text.splitlines()[0].split("\t")[0]


def case_serve(cli: Cli) -> None:
    server = LiveServer(cli.data_dir).start()  # a real `licentia serve` process on this data directory
    try:
        assert server.proc is not None and server.proc.poll() is None
    finally:
        server.stop()
    printed = Path(server.log.name).read_text()
    assert "serving at" in printed
    # The five lines for Python, and the same for Go (clients/go), with this product's key.
    assert "from licentia.client import Licentia" in printed and "licentia.New(licentia.Options{" in printed
    assert "Licentia.builder()" in printed  # the Java client's lines too


def case_init(cli: Cli) -> None:
    assert "Ready:" in cli("init") and "product my-app" in cli("init")


def case_migrate(cli: Cli) -> None:
    assert re.search(r"database at revision \w+", cli("migrate"))


def case_product_create(cli: Cli) -> None:
    assert cli("product", "create", "other-app", "--name", "Other").startswith("created product other-app")


def case_product_list(cli: Cli) -> None:
    assert "my-app\tMy App" in cli("product", "list").splitlines()


def case_product_show(cli: Cli) -> None:
    shown = json.loads(cli("product", "show", "my-app"))
    assert shown["slug"] == "my-app" and shown["collect_facts"] is True  # the demo collects facts
    assert shown["policy"]["trial_days"] > 0 and shown["public_keys"][0].startswith("ed25519:")


def case_product_policy(cli: Cli) -> None:
    assert "updated: {'grace_days': 5}" in cli("product", "policy", "my-app", "--set", "grace_days=5")
    assert json.loads(cli("product", "show", "my-app"))["policy"]["grace_days"] == 5


def case_product_facts(cli: Cli) -> None:
    assert "client facts for my-app: on; facts kept 30 days" in cli(
        "product", "facts", "my-app", "--retention-days", "30"
    )


def case_product_piracy(cli: Cli) -> None:
    header, *rows = cli("product", "piracy", "my-app", "--days", "7").splitlines()
    assert header.startswith("day\tlicenses_sold\tunlicensed_active") and len(rows) == 7
    assert int(rows[-1].split("\t")[1]) > 0  # the demo's licenses, sold
    assert "licenses issued and not revoked" in json.loads(cli("product", "piracy", "my-app", "--json"))["definition"]


def case_product_test_mode(cli: Cli) -> None:
    shown = cli("product", "test-mode", "my-app", "--on", "--email", "dev@vendor.example", "--posts")
    assert shown.strip() == "test mode for my-app: on; test posts emailed to dev@vendor.example"
    assert cli("product", "test-mode", "my-app", "--off").startswith("test mode for my-app: off;")


def case_product_trail(cli: Cli) -> None:
    assert cli("product", "trail", "my-app").strip() == "proxy-log trail for my-app: off; usage reports periodic"
    shown = cli("product", "trail", "my-app", "--on", "--usage-once")
    assert shown.strip() == "proxy-log trail for my-app: on; usage reports once"
    assert json.loads(cli("product", "show", "my-app"))["proxy_trail"] is True
    assert cli("product", "trail", "my-app", "--off").strip() == "proxy-log trail for my-app: off; usage reports once"


def case_policy_create(cli: Cli) -> None:
    made = json.loads(cli("policy", "create", "my-app", "Site", "--set", "max_devices=50", "--copy-of", "Default"))
    assert made["name"] == "Site" and made["max_devices"] == 50 and made["default"] is False


def case_policy_list(cli: Cli) -> None:
    assert cli("policy", "list", "my-app").splitlines()[0].startswith("Default (default)\tnode_locked")


def case_policy_show(cli: Cli) -> None:
    assert json.loads(cli("policy", "show", "my-app", "Default"))["default"] is True
    assert "no policy named 'Nope'" in cli("policy", "show", "my-app", "Nope", code=1)


def case_policy_set(cli: Cli) -> None:
    changed = cli("policy", "set", "my-app", "Default", "--set", 'entitlements={"edition": "trial"}')
    assert json.loads(changed)["entitlements"] == {"edition": {"value": "trial", "expires_at": None}}


def case_keys_rotate(cli: Cli) -> None:
    assert "new signing key" in cli("keys", "rotate", "--product", "my-app")


def case_keys_show(cli: Cli) -> None:
    keys = cli("keys", "show", "--product", "my-app").split()
    assert keys and all(key.startswith("ed25519:") for key in keys)


def case_ticket_mint(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "licentia-ticket.json"
    ticket_id = cli("ticket", "mint", "--product", "my-app", "--customer", "1", "--out", str(out)).strip()
    document = json.loads(out.read_text())["document"]
    assert ticket_id.startswith("it_") and document["ticket"] == ticket_id and document["customer"] == 1
    assert document["token"]["usage"] == 0 and "@" not in out.read_text()
    assert "no release" in cli("ticket", "mint", "--product", "my-app", "--release", "9.9.9", "--out", str(out), code=1)


def case_ticket_list(cli: Cli, tmp_path: Path) -> None:
    case_ticket_mint(cli, tmp_path)
    rows = cli("ticket", "list", "--product", "my-app").splitlines()
    assert rows and rows[0].startswith("it_") and "0 installation(s)" in rows[0]
    assert json.loads(cli("ticket", "list", "--json"))[0]["source"] == "vendor"


def case_license_issue(cli: Cli) -> None:
    key = cli("license", "issue", "--product", "my-app", "--email", "buyer@example.com", "--expires", "2030-01-31")
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){4}\n", key)
    assert f"{key[:5]}\tactive\texpires 2030-01-31" in cli("license", "list", "--prefix", key[:5])


def _floating_lease(cli: Cli, policy: str) -> tuple[str, str]:
    """A license of a floating type with one live lease of a demo installation: (key, lease id)."""
    import datetime as dt

    import sqlalchemy as sa

    from licentia.server.store.models import Device, Lease, License, table_of

    cli("policy", "create", "my-app", policy, "--set", "kind=floating", "--set", "max_devices=3")
    key = cli("license", "issue", "--product", "my-app", "--email", "studio@example.com", "--policy", policy).strip()
    engine = sa.create_engine(f"sqlite:///{cli.data_dir / 'licentia.db'}")
    devices, licenses = table_of(Device), table_of(License)
    with engine.begin() as conn:
        device = conn.execute(sa.select(devices).limit(1)).one()
        lic = conn.execute(sa.select(licenses).where(licenses.c.key_prefix == key[:5])).one()
        lease_id = "ls_" + policy.lower().ljust(24, "0")[:24]
        now = dt.datetime.now(dt.UTC)
        values = {"product_id": device.product_id, "license_id": lic.id, "machine_id": device.machine_id}
        values |= {"device_id": device.id, "created_at": now, "heartbeat_at": now}
        conn.execute(table_of(Lease).insert().values(id=lease_id, expires_at=now + dt.timedelta(hours=1), **values))
    engine.dispose()
    return key, lease_id


def case_license_leases(cli: Cli) -> None:
    key, lease_id = _floating_lease(cli, "Floating")
    listed = cli("license", "leases", key[:5])
    assert "1 machine holds a seat" in listed and f"{lease_id}\tlive" in listed
    assert json.loads(cli("license", "leases", key[:5], "--json"))["seats_used"] == 1


def case_license_release_lease(cli: Cli) -> None:
    key, lease_id = _floating_lease(cli, "Lab")
    released = cli("license", "release-lease", key[:5], lease_id)
    assert released == f"lease {lease_id} is force released: its seat is free\n"
    assert "0 machines hold a seat" in cli("license", "leases", key[:5])
    assert "no lease" in cli("license", "release-lease", key[:5], "ls_" + "9" * 24, code=1)


def case_license_transfers(cli: Cli) -> None:
    key = cli("license", "issue", "--product", "my-app", "--email", "mover@example.com").strip()
    assert "0 moves to another machine in the last 365 days; its type sets no limit" in cli(
        "license", "transfers", key[:5]
    )
    granted = json.loads(cli("license", "transfers", key[:5], "--grant", "2", "--reason", "new office", "--json"))
    assert granted["extra"] == 2 and granted["left"] is None
    assert "0 moves" in cli("license", "transfers", key[:5], "--reset")
    assert "grant 1 to 1000" in cli("license", "transfers", key[:5], "--grant", "5000", code=1)


def case_license_terms(cli: Cli) -> None:
    cli("policy", "create", "my-app", "Yearly", "--set", "maintenance_days=365")
    key = cli("license", "issue", "--product", "my-app", "--email", "terms@example.com").strip()
    license_id = cli("license", "list", "--prefix", key[:5]).split("\t")[0]
    changed = json.loads(
        cli(
            "license",
            "terms",
            license_id,
            "--policy",
            "Yearly",
            "--set",
            "max_devices=9",
            "--maintenance-until",
            "2031-01-01",
        )
    )
    assert changed["policy"] == "Yearly" and changed["max_devices"] == 9
    assert changed["maintenance_until"].startswith("2031-01-01")
    assert "unknown policy setting 'colour'" in cli("license", "terms", license_id, "--unset", "colour", code=1)


def _team_license(cli: Cli) -> str:
    """A license of the "Team" type of my-app, whose 2 seats are named users: its key."""
    if "Team" not in cli("policy", "list", "my-app"):
        cli("policy", "create", "my-app", "Team", "--set", "seat_unit=user", "--set", "max_devices=2")
    return cli("license", "issue", "--product", "my-app", "--email", "lead@team.example", "--policy", "Team").strip()


def case_license_add_user(cli: Cli) -> None:
    key = _team_license(cli)
    assert cli("license", "add-user", key, "ann@team.example") == "ann@team.example holds a seat\n"
    later = cli("license", "add-user", key, "bob@team.example", "--at-sign-in")
    assert later == "bob@team.example may take a seat at their first sign-in\n"
    assert cli("license", "add-user", key, "ann@team.example") == "ann@team.example was already named on the license\n"
    plain = cli("license", "issue", "--product", "my-app", "--email", "one@example.com").strip()
    assert "machines, not named users" in cli("license", "add-user", plain, "x@example.com", code=1)


def case_license_users(cli: Cli) -> None:
    key = _team_license(cli)
    cli("license", "add-user", key, "ann@team.example")
    cli("license", "add-user", key, "bob@team.example", "--at-sign-in")
    shown = cli("license", "users", key).splitlines()
    assert shown[0].endswith(": 1 of the named people hold a seat")
    assert shown[1:] == ["ann@team.example\tseat\tmachines: -", "bob@team.example\tno seat yet\tmachines: -"]
    assert [u["email"] for u in json.loads(cli("license", "users", key, "--json"))] == [
        "ann@team.example", "bob@team.example",
    ]  # fmt: skip


def case_license_free_user(cli: Cli) -> None:
    key = _team_license(cli)
    cli("license", "add-user", key, "ann@team.example")
    freed = cli("license", "free-user", key, "ann@team.example", "--reason", "left the team")
    assert freed == "ann@team.example's seat is free; 0 installation(s) left the license\n"
    assert "is not named on this license" in cli("license", "free-user", key, "ann@team.example", code=1)


def case_license_move_user(cli: Cli) -> None:
    key = _team_license(cli)
    cli("license", "add-user", key, "ann@team.example")
    moved = cli("license", "move-user", key, "ann@team.example", "cat@team.example")
    assert moved == "ann@team.example's seat now belongs to cat@team.example\n"
    assert "cat@team.example\tseat" in cli("license", "users", key)


def case_license_list(cli: Cli) -> None:
    cli("license", "issue", "--product", "my-app", "--email", "listed@example.com")  # whatever ran before
    rows = [line.split("\t") for line in cli("license", "list").splitlines()]
    assert rows and all(len(row) == 4 and row[3].startswith("expires ") for row in rows)
    assert cli("license", "list", "--product", "my-app").splitlines() == ["\t".join(row) for row in rows]
    assert "no product named 'nope'" in cli("license", "list", "--product", "nope", code=1)


def case_license_usage(cli: Cli) -> None:
    meters = json.dumps({"renders": {"limit": 9, "period": "week"}})
    cli("policy", "create", "my-app", "Metered", "--set", f"meters={meters}")
    key = cli("license", "issue", "--product", "my-app", "--email", "usage@example.com", "--policy", "Metered").strip()
    assert cli("license", "usage", key).startswith("renders\t0 of 9 used\t9 left\tper week, resets ")
    assert json.loads(cli("license", "usage", key[:5], "--json"))["meters"][0]["remaining"] == 9


def case_license_certificate(cli: Cli, tmp_path: Path) -> None:
    key = cli("license", "issue", "--product", "my-app", "--email", "cert@example.com", "--name", "Cert").strip()
    signed = json.loads(cli("license", "certificate", key))
    assert signed["document"]["kind"] == "purchase_certificate" and key not in json.dumps(signed)
    out = tmp_path / "certificate.json"
    cli("license", "certificate", key[:5], "--output", str(out))
    public_key = json.loads(cli("product", "show", "my-app"))["public_keys"][0]
    assert "genuine purchase certificate of my-app" in cli("evidence", "verify", str(out), "--public-key", public_key)


def _license_id(cli: Cli) -> str:
    """A license of its own for each case that changes one."""
    key = cli("license", "issue", "--product", "my-app", "--email", "case@example.com")
    return first_field(cli("license", "list", "--prefix", key[:5]))


def case_license_suspend(cli: Cli) -> None:
    assert cli("license", "suspend", _license_id(cli)).endswith("is now suspended\n")


def case_license_revoke(cli: Cli) -> None:
    assert cli("license", "revoke", _license_id(cli)).endswith("is now revoked\n")


def case_license_reinstate(cli: Cli) -> None:
    license_id = _license_id(cli)
    cli("license", "suspend", license_id)
    assert cli("license", "reinstate", license_id).endswith("is now active\n")


def _offline_machine(cli: Cli, tmp_path: Path) -> tuple[Any, str]:
    """An air-gapped SDK installation and a license key for it."""
    from licentia.client import Licentia
    from tests.client.conftest import FakeMachine

    key = cli("license", "issue", "--product", "my-app", "--email", "airgap@example.com").strip()
    public_key = cli("keys", "show", "--product", "my-app").split()
    machine = FakeMachine(tmp_path / "machine")
    app = Licentia("http://127.0.0.1:9", "my-app", public_key, tmp_path / "app", fingerprint_root=machine.root)
    return app, key


def case_license_offline_activate(cli: Cli, tmp_path: Path) -> None:
    app, key = _offline_machine(cli, tmp_path)
    (tmp_path / "request.txt").write_text(app.activation_request(key))
    said = cli("license", "offline-activate", str(tmp_path / "request.txt"), "-o", str(tmp_path / "response.lic"))
    assert re.match(r"activated device dv_\w+ on license \d+ until \d{4}-\d\d-\d\d; response written", said)
    assert app.install_activation((tmp_path / "response.lic").read_text()).state == "registered"
    assert "was answered already" in cli("license", "offline-activate", str(tmp_path / "request.txt"), code=1)


def case_license_offline_deactivate(cli: Cli, tmp_path: Path) -> None:
    app, key = _offline_machine(cli, tmp_path)
    response = cli("license", "offline-activate", "-", stdin=app.activation_request(key))
    app.install_activation(response)
    (tmp_path / "proof.txt").write_text(app.deactivate_offline())
    assert "seat freed" in cli("license", "offline-deactivate", str(tmp_path / "proof.txt"))
    assert "deactivated already" in cli("license", "offline-deactivate", str(tmp_path / "proof.txt"), code=1)


def _device_id(cli: Cli) -> str:
    return first_field(cli("device", "list", "--limit", "1"))


def case_device_list(cli: Cli) -> None:
    rows = [line.split("\t") for line in cli("device", "list", "--limit", "5").splitlines()]
    assert len(rows) == 5 and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[3]) for row in rows)


def case_device_show(cli: Cli) -> None:
    shown = json.loads(cli("device", "show", _device_id(cli)))  # a device that has checked in: dates encode
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", shown["seen_day"]) and shown["last_seen"].endswith("+00:00")
    assert not [name for name in shown if name.endswith("_hash")]  # no secret's hash is shown


def case_device_set_status(cli: Cli) -> None:
    device_id = _device_id(cli)
    said = cli("device", "set-status", device_id, "--status", "blocked")
    assert said.startswith("machine mc_") and said.endswith(
        f"of device {device_id} (every installation on it) is now blocked\n"
    )
    assert json.loads(cli("device", "show", device_id))["status"] == "blocked"


def case_device_extend_trial(cli: Cli) -> None:
    assert re.search(r"now ends \d{4}-\d\d-\d\d", cli("device", "extend-trial", _device_id(cli), "--days", "7"))


def case_admin_create(cli: Cli) -> None:
    assert "created" in cli("admin", "create", "ops@vendor.example", "--password-stdin", stdin="long enough pw\n")


def case_admin_password(cli: Cli) -> None:
    cli("admin", "create", "pw@vendor.example", "--password-stdin", stdin="long enough pw\n")
    assert "changed" in cli("admin", "password", "pw@vendor.example", "--password-stdin", stdin="another long one\n")


def case_admin_token(cli: Cli) -> None:
    assert len(cli("admin", "token", "--name", "shop", "--scope", "write").strip()) > 30


def case_admin_revoke_token(cli: Cli) -> None:
    import sqlalchemy as sa

    from licentia.server.store.models import ApiToken, table_of

    cli("admin", "token", "--name", "to-revoke")
    engine = sa.create_engine(f"sqlite:///{cli.data_dir / 'licentia.db'}")
    with engine.connect() as conn:
        token_id = conn.execute(sa.select(sa.func.max(table_of(ApiToken).c.id))).scalar_one()
    engine.dispose()
    assert cli("admin", "revoke-token", "--token-id", str(token_id)) == f"token {token_id} revoked\n"


def case_admin_list(cli: Cli) -> None:
    cli("admin", "create", "list@vendor.example", "--password-stdin", "--role", "viewer", stdin="long enough pw\n")
    assert re.search(r"list@vendor\.example\s+viewer", cli("admin", "list"))


def case_admin_role(cli: Cli) -> None:
    cli("admin", "create", "role@vendor.example", "--password-stdin", "--role", "viewer", stdin="long enough pw\n")
    assert cli("admin", "role", "role@vendor.example", "staff") == "role@vendor.example is now staff\n"


def case_admin_reset_totp(cli: Cli) -> None:
    import datetime as dt

    import pyotp
    import sqlalchemy as sa

    from licentia.server.auth.second_factor import confirm_enrolment, start_enrolment
    from licentia.server.settings import Settings
    from licentia.server.store.models import AdminUser, table_of

    cli("admin", "create", "totp@vendor.example", "--password-stdin", stdin="long enough pw\n")
    fernet = Settings(data_dir=cli.data_dir).fernet()
    engine = sa.create_engine(f"sqlite:///{cli.data_dir / 'licentia.db'}")
    users = table_of(AdminUser)
    with engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.email == "totp@vendor.example")).scalar_one()
        seed = start_enrolment(conn, user_id=user_id, fernet=fernet).secret
        now = dt.datetime.now(dt.UTC)
        confirm_enrolment(conn, user_id=user_id, code=pyotp.TOTP(seed).at(now), fernet=fernet, now=now, actor="t")
    engine.dispose()
    assert "second factor of totp@vendor.example removed" in cli("admin", "reset-totp", "totp@vendor.example")


def case_admin_disable(cli: Cli) -> None:
    cli("admin", "create", "off@vendor.example", "--password-stdin", "--role", "staff", stdin="long enough pw\n")
    assert cli("admin", "disable", "off@vendor.example") == "off@vendor.example disabled\n"


def case_admin_enable(cli: Cli) -> None:
    cli("admin", "create", "on@vendor.example", "--password-stdin", "--role", "staff", stdin="long enough pw\n")
    cli("admin", "disable", "on@vendor.example")
    assert cli("admin", "enable", "on@vendor.example") == "on@vendor.example enabled\n"


def _webhook(cli: Cli, url: str = "https://crm.vendor.example/hooks") -> int:
    made = cli("webhook", "add", url, "--event", "license.created")
    return int(re.search(r"#(\d+)", made).group(1))  # type: ignore[union-attr]


def case_webhook_add(cli: Cli) -> None:
    made = cli("webhook", "add", "https://crm.vendor.example/new", "--event", "license.revoked")
    assert "license.revoked" in made and "signing secret (shown once" in made


def case_webhook_list(cli: Cli) -> None:
    hook = _webhook(cli, "https://crm.vendor.example/listed")
    assert f"#{hook} " in cli("webhook", "list")


def case_webhook_edit(cli: Cli) -> None:
    hook = _webhook(cli)
    assert "CRM sync" in cli("webhook", "edit", str(hook), "--all-events", "--description", "CRM sync")


def case_webhook_disable(cli: Cli) -> None:
    hook = _webhook(cli)
    assert cli("webhook", "disable", str(hook)) == f"webhook #{hook} disabled\n"


def case_webhook_enable(cli: Cli) -> None:
    hook = _webhook(cli)
    cli("webhook", "disable", str(hook))
    assert cli("webhook", "enable", str(hook)) == f"webhook #{hook} enabled\n"


def _receiving_webhook(cli: Cli) -> tuple[int, WebhookReceiver]:
    receiver = WebhookReceiver().start()
    return _webhook(cli, receiver.url), receiver


def case_webhook_test(cli: Cli) -> None:
    hook, receiver = _receiving_webhook(cli)
    try:
        assert "delivered: HTTP 200" in cli("webhook", "test", str(hook))
        assert json.loads(receiver.deliveries[0].body)["event"] == "ping"
    finally:
        receiver.stop()


def case_webhook_deliveries(cli: Cli) -> None:
    hook, receiver = _receiving_webhook(cli)
    try:
        cli("webhook", "test", str(hook))
        assert re.search(r"ping delivered attempts 1 HTTP 200", cli("webhook", "deliveries", str(hook)))
    finally:
        receiver.stop()


def case_webhook_redeliver(cli: Cli) -> None:
    hook, receiver = _receiving_webhook(cli)
    try:
        cli("webhook", "test", str(hook))
        delivery = re.search(r"#(\d+) ", cli("webhook", "deliveries", str(hook))).group(1)  # type: ignore[union-attr]
        assert f"delivery #{delivery} queued again" in cli("webhook", "redeliver", str(hook), delivery)
    finally:
        receiver.stop()


def case_rollup(cli: Cli) -> None:
    assert "rollups recomputed" in cli("rollup", "--days", "3")


def case_evidence(cli: Cli, tmp_path: Path) -> None:
    prefix = cli("license", "list").splitlines()[0].split("\t")[1]
    assert re.match(rf"license {prefix}.*: risk \d+/100", cli("evidence", "risk", prefix))
    report = tmp_path / "report.json"
    cli("evidence", prefix, "--output", str(report))
    public_key = cli("keys", "show", "--product", "my-app").split()[0]
    assert "genuine evidence report" in cli("evidence", "verify", str(report), "--public-key", public_key)
    assert "facts blanked on" in cli("evidence", "purge")
    assert "case note #" in cli("evidence", "note", prefix, "--text", "customer called")
    assert cli("evidence", "notes", prefix).split("\t")[4] == "customer called\n"


def case_notify_test_email(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = SmtpServer().start()
    try:
        monkeypatch.setenv("LICENTIA_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LICENTIA_SMTP_PORT", str(smtp.port))
        assert "sent to me@vendor.example" in cli("notify", "test-email", "me@vendor.example")
        assert smtp.messages[0]["To"] == "me@vendor.example"
    finally:
        smtp.stop()


def case_notify_status(cli: Cli) -> None:
    assert re.match(r"waiting \d+  failed \d+  sent \d+", cli("notify", "status"))


def case_notify_retry(cli: Cli) -> None:
    assert "will be sent again" in cli("notify", "retry")


def case_payments_map(cli: Cli) -> None:
    assert cli("payments", "map", "stripe", "price_cli_map", "--product", "my-app", "--on-refund", "suspend").strip()
    assert "already mapped" in cli("payments", "map", "stripe", "price_cli_map", "--product", "my-app", code=1)


def case_payments_list(cli: Cli) -> None:
    cli("payments", "map", "paddle", "pri_cli_list", "--product", "my-app")
    assert "paddle\tpri_cli_list\tmy-app" in cli("payments", "list")


def case_payments_unmap(cli: Cli) -> None:
    mapping_id = cli("payments", "map", "fastspring", "cli-unmap", "--product", "my-app").strip()
    cli("payments", "unmap", mapping_id)
    assert "cli-unmap" not in cli("payments", "list")
    assert "no payment mapping" in cli("payments", "unmap", mapping_id, code=1)


def _sso(cli: Cli, *extra: str) -> str:
    issuer = "https://id.globex.example"
    made = cli("sso", "add", "portal", "--name", "Globex", "--issuer", issuer, "--client-id", "licentia",
               "--client-secret", "cli secret", "--domain", "globex.example", *extra)  # fmt: skip
    return made.split()[0].lstrip("#")


def case_sso_add(cli: Cli) -> None:
    connection = _sso(cli)
    assert connection.isdigit()
    assert "needs the email domains" in cli("sso", "add", "portal", "--name", "X", "--issuer", "https://id.x.example",
                                            "--client-id", "x", "--client-secret", "s", code=1)  # fmt: skip


def case_sso_list(cli: Cli) -> None:
    connection = _sso(cli)
    listed = cli("sso", "list")
    assert f"#{connection} portal  Globex  https://id.globex.example" in listed and "cli secret" not in listed


def case_sso_remove(cli: Cli) -> None:
    connection = _sso(cli)
    assert cli("sso", "remove", connection) == f"removed connection #{connection}\n"
    assert "no single sign-on connection" in cli("sso", "remove", connection, code=1)


def case_export(cli: Cli, tmp_path: Path) -> None:
    lines = cli("export", "--format", "csv").splitlines()
    assert lines[0].startswith("id,product_id,device_id") and len(lines) > 40
    cli("export", "--format", "json", "--product", "my-app", "-o", str(tmp_path / "events.jsonl"))
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert len(events) == len(lines) - 1 and {"install", "check"} <= {e["kind"] for e in events}
    header, *rows = cli("export", "--format", "hitek", "--product", "my-app").split("\n")[:-1]
    assert len(header.split("\t")) == 50 and header.endswith("\tprimkey") and rows
    assert all(len(row.split("\t")) == 50 for row in rows) and {r.split("\t")[0] for r in rows} <= {
        "install",
        "register",
        "usage",
    }


def case_backup(cli: Cli, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse battery staple")
    said = cli("backup", str(tmp_path / "copy.backup"), "--passphrase-file", str(phrase))
    assert said.startswith("sealed backup of the sqlite database") and (tmp_path / "copy.backup").stat().st_size > 0


def case_restore(cli: Cli, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse battery staple")
    cli("backup", str(tmp_path / "copy.backup"), "--passphrase-file", str(phrase))
    said = cli("restore", str(tmp_path / "copy.backup"), "--passphrase-file", str(phrase), "--force")
    assert said.startswith("restored the sqlite database")


def case_demo(cli: Cli, tmp_path: Path) -> None:
    assert "fresh database" in cli("demo", "--devices", "5", code=1)  # never over existing devices
    fresh = Cli(tmp_path / "fresh", cli.capsys)
    assert "demo data for my-app: 5 devices" in fresh("demo", "--devices", "5", "--days", "3")


CASES: dict[tuple[str, ...], Callable[..., None]] = {
    ("ticket", "mint"): case_ticket_mint,
    ("ticket", "list"): case_ticket_list,
    ("serve",): case_serve,
    ("init",): case_init,
    ("migrate",): case_migrate,
    ("product", "create"): case_product_create,
    ("product", "list"): case_product_list,
    ("product", "show"): case_product_show,
    ("product", "policy"): case_product_policy,
    ("product", "facts"): case_product_facts,
    ("product", "piracy"): case_product_piracy,
    ("product", "test-mode"): case_product_test_mode,
    ("product", "trail"): case_product_trail,
    ("policy", "create"): case_policy_create,
    ("policy", "list"): case_policy_list,
    ("policy", "show"): case_policy_show,
    ("policy", "set"): case_policy_set,
    ("keys", "rotate"): case_keys_rotate,
    ("keys", "show"): case_keys_show,
    ("license", "issue"): case_license_issue,
    ("license", "list"): case_license_list,
    ("license", "usage"): case_license_usage,
    ("license", "certificate"): case_license_certificate,
    ("license", "terms"): case_license_terms,
    ("license", "suspend"): case_license_suspend,
    ("license", "revoke"): case_license_revoke,
    ("license", "reinstate"): case_license_reinstate,
    ("license", "offline-activate"): case_license_offline_activate,
    ("license", "leases"): case_license_leases,
    ("license", "release-lease"): case_license_release_lease,
    ("license", "transfers"): case_license_transfers,
    ("license", "offline-deactivate"): case_license_offline_deactivate,
    ("device", "list"): case_device_list,
    ("device", "show"): case_device_show,
    ("device", "set-status"): case_device_set_status,
    ("device", "extend-trial"): case_device_extend_trial,
    ("admin", "create"): case_admin_create,
    ("admin", "password"): case_admin_password,
    ("admin", "token"): case_admin_token,
    ("admin", "revoke-token"): case_admin_revoke_token,
    ("admin", "list"): case_admin_list,
    ("admin", "role"): case_admin_role,
    ("admin", "reset-totp"): case_admin_reset_totp,
    ("admin", "disable"): case_admin_disable,
    ("admin", "enable"): case_admin_enable,
    ("webhook", "add"): case_webhook_add,
    ("webhook", "list"): case_webhook_list,
    ("webhook", "edit"): case_webhook_edit,
    ("webhook", "disable"): case_webhook_disable,
    ("webhook", "enable"): case_webhook_enable,
    ("webhook", "test"): case_webhook_test,
    ("webhook", "deliveries"): case_webhook_deliveries,
    ("webhook", "redeliver"): case_webhook_redeliver,
    ("sso", "add"): case_sso_add,
    ("sso", "list"): case_sso_list,
    ("sso", "remove"): case_sso_remove,
    ("rollup",): case_rollup,
    ("evidence",): case_evidence,
    ("notify", "test-email"): case_notify_test_email,
    ("notify", "status"): case_notify_status,
    ("notify", "retry"): case_notify_retry,
    ("payments", "map"): case_payments_map,
    ("payments", "list"): case_payments_list,
    ("payments", "unmap"): case_payments_unmap,
    ("export",): case_export,
    ("backup",): case_backup,
    ("restore",): case_restore,
    ("demo",): case_demo,
    ("license", "users"): case_license_users,
    ("license", "add-user"): case_license_add_user,
    ("license", "free-user"): case_license_free_user,
    ("license", "move-user"): case_license_move_user,
    **ORGANISATION_CASES,
}


def test_every_command_has_a_case() -> None:
    assert sorted(leaf_commands(build_parser())) == sorted(CASES)


@pytest.mark.parametrize("path", list(CASES), ids=" ".join)
def test_command_runs_on_a_populated_database(
    path: tuple[str, ...], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[path]
    extra = {"tmp_path": tmp_path, "monkeypatch": monkeypatch}
    wanted = case.__code__.co_varnames[1 : case.__code__.co_argcount]
    case(cli, **{name: extra[name] for name in wanted})
