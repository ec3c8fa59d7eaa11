"""Integer ids beyond 64 bits name no row: the developer API and the admin UI answer 404 or 422, never 500."""

from __future__ import annotations

from typing import Any

from licentia.server.auth.tokens import create_token
from tests.server.admin_fixtures import csrf_of, make_admin, sign_in

TOO_BIG = str(2**63)  # one past the largest 64-bit row id
HUGE = "4697045594966224011264"


def _write_token(engine: Any, clock: Any) -> dict[str, str]:
    with engine.begin() as conn:
        made = create_token(conn, name="shop", scopes=["write"], now=clock.now(), created_by="test")
    return {"Authorization": f"Bearer {made.token}"}


def test_developer_api_refuses_ids_no_row_can_have(client: Any, engine: Any, clock: Any) -> None:
    auth = _write_token(engine, clock)
    for number in (TOO_BIG, HUGE, "0", "-1"):
        for method, path in (
            ("GET", "/v1/admin/licenses/{n}"),
            ("GET", "/v1/admin/licenses/{n}/devices"),
            ("POST", "/v1/admin/licenses/{n}/suspend"),
            ("POST", "/v1/admin/licenses/{n}/reinstate"),
            ("POST", "/v1/admin/licenses/{n}/revoke"),
            ("GET", "/v1/admin/events?license_id={n}"),
        ):
            answer = client.request(method, path.format(n=number), headers=auth)
            assert answer.status_code == 422, (method, path, number, answer.text)
            assert answer.json()["error"]["code"] == "validation_error"


def test_developer_api_bodies_and_references_with_huge_numbers(client: Any, engine: Any, clock: Any) -> None:
    auth = _write_token(engine, clock)
    renew = client.post(f"/v1/admin/licenses/{TOO_BIG}/renew", json={"days": 3}, headers=auth)
    patch = client.patch(f"/v1/admin/licenses/{TOO_BIG}", json={"max_devices": 3}, headers=auth)
    assert renew.status_code == patch.status_code == 422
    # The evidence routes take an id or a key prefix: a huge number is neither a row nor a prefix.
    for ref in (TOO_BIG, HUGE, "²³⁴"):
        for tail in ("risk", "evidence"):
            answer = client.get(f"/v1/admin/licenses/{ref}/{tail}", headers=auth)
            assert answer.status_code == 404, (ref, tail, answer.text)
            assert answer.json()["error"]["code"] == "unknown_license"
    # A cursor is opaque, but a forged one carrying a huge id is refused like any other forgery.
    import base64

    forged = base64.urlsafe_b64encode(f"e{HUGE}".encode()).decode().rstrip("=")
    answer = client.get(f"/v1/admin/events?cursor={forged}", headers=auth)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_cursor"


def test_admin_pages_refuse_ids_no_row_can_have(client: Any, engine: Any, clock: Any) -> None:
    make_admin(engine, clock)
    sign_in(client)
    csrf = csrf_of(client)
    for path in (
        f"/admin/licenses/{TOO_BIG}",
        f"/admin/products/{TOO_BIG}",
        f"/admin/?product={TOO_BIG}",
    ):
        answer = client.get(path)
        assert answer.status_code in (404, 422), (path, answer.status_code)
    # A list's page number past any row is clamped to its deepest page, never a database error.
    for path in (f"/admin/audit?page={HUGE}", f"/admin/devices?page={HUGE}", f"/admin/licenses?page=-{HUGE}"):
        assert client.get(path).status_code == 200, path
    for path in (
        f"/admin/licenses/{TOO_BIG}/suspend",
        f"/admin/products/{TOO_BIG}/policy",
        f"/admin/tokens/{TOO_BIG}/revoke",
    ):
        answer = client.post(path, data={"csrf": csrf}, follow_redirects=False)
        assert answer.status_code in (404, 422), (path, answer.status_code)
