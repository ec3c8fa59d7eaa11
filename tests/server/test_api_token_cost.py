"""API tokens are found by their public lookup part and checked with SHA-256: a bogus bearer value
costs no argon2 verification, and tokens made before (argon2id) keep working and move to SHA-256."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.server.adminapi import bearer as bearer_module
from licentia.server.auth.passwords import hash_secret
from licentia.server.auth.tokens import create_token
from licentia.server.store.models import ApiToken, table_of

api_tokens = table_of(ApiToken)


@pytest.fixture
def argon2_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the argon2 verifications the token check runs (each still runs, for real)."""
    calls: list[str] = []
    real = bearer_module.verify_secret  # type: ignore[attr-defined]  # patched where bearer.py looks it up

    def counted(stored_hash: str, secret: str) -> bool:
        calls.append(stored_hash)
        return real(stored_hash, secret)

    monkeypatch.setattr(bearer_module, "verify_secret", counted)
    return calls


def _get(client: Any, token: str) -> Any:
    return client.get("/v1/admin/events", headers={"Authorization": f"Bearer {token}"})


def test_bogus_bearer_values_cost_no_argon2(client: Any, engine: Any, clock: Any, argon2_checks: list[str]) -> None:
    with engine.begin() as conn:
        made = create_token(conn, name="shop", scopes=["read"], now=clock.now(), created_by="test")
        stored = conn.execute(sa.select(api_tokens.c.token_hash)).scalar_one()
    assert stored.startswith("sha256:") and made.token not in stored
    lookup = made.token.split("_")[1]
    bogus = [
        "x",
        "lct_" + "0" * 12 + "_" + "A" * 43,  # well formed, unknown lookup
        f"lct_{lookup}_" + "A" * 43,  # a real lookup, a wrong secret
        made.token[:-1] + ("A" if made.token[-1] != "A" else "B"),  # one character off
    ]
    for value in bogus:
        answer = _get(client, value)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token", value
    latin1 = client.get("/v1/admin/events", headers={"Authorization": "Bearer lct_ééééééééééé_x".encode("latin-1")})
    assert latin1.status_code == 401
    assert _get(client, made.token).status_code == 200
    assert argon2_checks == []


def test_argon2_tokens_made_before_keep_working_and_move_to_sha256(
    client: Any, engine: Any, clock: Any, argon2_checks: list[str]
) -> None:
    lookup = "a1b2c3d4e5f6"
    legacy = f"lct_{lookup}_" + "k" * 43
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                name="old-shop", lookup=lookup, token_hash=hash_secret(legacy), scopes=["read"], created_at=clock.now()
            )
        )
    assert _get(client, legacy[:-1] + "x").status_code == 401  # wrong secret: the old check, and no rewrite
    assert _get(client, legacy).status_code == 200
    with engine.connect() as conn:
        stored = conn.execute(sa.select(api_tokens.c.token_hash)).scalar_one()
    assert stored.startswith("sha256:")
    assert len(argon2_checks) == 2
    # From now on the fast check alone.
    assert _get(client, legacy).status_code == 200
    assert _get(client, legacy[:-1] + "x").status_code == 401
    assert len(argon2_checks) == 2


def test_a_token_made_elsewhere_a_moment_ago_is_found(client: Any, engine: Any, clock: Any) -> None:
    """Unknown lookups are refused from the set of known ones; a token another worker just made still works."""
    assert _get(client, "lct_" + "1" * 12 + "_" + "A" * 43).status_code == 401  # the set is read now
    with engine.begin() as conn:  # another process (the CLI, another worker) makes a token
        made = create_token(conn, name="ci", scopes=["read"], now=clock.now(), created_by="test")
    assert _get(client, made.token).status_code == 200  # at once: it waits for a fresh reading
    with engine.begin() as conn:
        conn.execute(api_tokens.delete())
    assert _get(client, made.token).status_code == 401  # known to the set, gone from the table


def test_a_flood_of_made_up_tokens_costs_a_few_reads(migrated: Any) -> None:
    """Hundreds of unknown lookups at once: all refused, the token table read a few times, not hundreds."""
    from sqlalchemy import event

    from licentia.server.store.engine import database_urls, make_async_engine

    reads: list[str] = []

    async def flood() -> list[bool]:
        engine = make_async_engine(database_urls(migrated.resolved_database_url))

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "api_tokens" in statement:
                reads.append(statement)

        known = bearer_module.KnownLookups(refresh=0.05, max_waiting=4)
        try:
            return await asyncio.gather(*(known.may_exist(engine, f"{n:012x}") for n in range(300)))
        finally:
            await engine.dispose()

    assert not any(asyncio.run(flood()))
    assert 1 <= len(reads) <= 4
