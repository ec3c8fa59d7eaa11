"""API tokens of the developer API: created (shown once), listed, revoked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.admin.forms import reason_of, refused_status
from licentia.server.admin.service import list_tokens
from licentia.server.admin.web import Admin, Form, Posted, render
from licentia.server.audit import AuditAction, record
from licentia.server.auth.tokens import SCOPES, CreatedToken, create_token, revoke_token
from licentia.server.errors import ApiError
from licentia.server.fields import RowId
from licentia.server.state import ClockDep, EngineDep
from licentia.server.store import transactions

router = APIRouter(prefix="/tokens")


def create_audited(conn: sa.Connection, *, name: str, scope: str, actor: str, now: dt.datetime) -> CreatedToken:
    scopes = ["read", "write"] if scope == "write" else [scope]
    made = create_token(conn, name=name, scopes=scopes, now=now, created_by=actor)
    record(conn, AuditAction.TOKEN_CREATE, made.id, actor=actor, now=now, name=name, scopes=scopes)
    return made


def revoke_audited(conn: sa.Connection, *, token_id: int, actor: str, now: dt.datetime, reason: str) -> None:
    revoke_token(conn, token_id=token_id, now=now)
    record(conn, AuditAction.TOKEN_REVOKE, token_id, actor=actor, now=now, reason=reason)


async def _tokens_page(request: Request, engine: AsyncEngine, http_status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("sent", {})
    tokens = await transactions.read_only(engine, list_tokens)
    status = refused_status(request, http_status)
    return render(request, "tokens.html", status, tokens=tokens, scopes=SCOPES, **context)


@router.get("")
async def tokens_page(request: Request, engine: EngineDep, admin: Admin) -> Response:
    return await _tokens_page(request, engine)


@router.post("")
async def create(request: Request, engine: EngineDep, clock: ClockDep, admin: Admin, form: Form) -> Response:
    try:
        made = await transactions.in_transaction(
            engine,
            create_audited,
            name=form.get("name", ""),
            scope=form.get("scope", "read"),
            actor=admin.label,
            now=clock.now(),
        )
    except ApiError as exc:
        return await _tokens_page(request, engine, exc.status, errors={"name": exc.message}, sent=form)
    # Shown once: only its SHA-256 is kept.
    return await _tokens_page(request, engine, created=made)


@router.post("/{token_id}/revoke")
async def revoke(request: Request, engine: EngineDep, form: Form, token_id: RowId, posted: Posted) -> Response:
    try:
        reason = reason_of(form)
    except ApiError as exc:
        # The confirmation again, open, with the error beside the reason.
        return await _tokens_page(
            request, engine, exc.status, errors={f"reason-{token_id}": exc.message}, opened=token_id
        )
    return await posted.run(
        revoke_audited, success="Token revoked.", back_to="/admin/tokens", token_id=token_id, reason=reason
    )
