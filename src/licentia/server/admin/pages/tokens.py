"""API tokens of the developer API: created (shown once), listed, revoked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.admin.forms import reason_of, refused_status
from licentia.server.admin.service import list_tokens
from licentia.server.admin.web import Admin, Form, act, now, render
from licentia.server.adminapi.schemas import RowId
from licentia.server.audit import AuditAction, record
from licentia.server.auth.tokens import SCOPES, CreatedToken, create_token, revoke_token
from licentia.server.errors import ApiError
from licentia.server.state import in_transaction, read_only

router = APIRouter(prefix="/tokens")


def create_audited(conn: sa.Connection, *, name: str, scope: str, actor: str, now: dt.datetime) -> CreatedToken:
    scopes = ["read", "write"] if scope == "write" else [scope]
    made = create_token(conn, name=name, scopes=scopes, now=now, created_by=actor)
    record(
        conn,
        actor=actor,
        action=AuditAction.TOKEN_CREATE,
        target_id=made.id,
        now=now,
        name=name,
        scopes=scopes,
    )
    return made


def revoke_audited(conn: sa.Connection, *, token_id: int, actor: str, now: dt.datetime, reason: str) -> None:
    revoke_token(conn, token_id=token_id, now=now)
    record(conn, actor=actor, action=AuditAction.TOKEN_REVOKE, target_id=token_id, now=now, reason=reason)


async def _tokens_page(request: Request, http_status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("sent", {})
    tokens = await read_only(request, list_tokens)
    status = refused_status(request, http_status)
    return render(request, "tokens.html", status, tokens=tokens, scopes=SCOPES, **context)


@router.get("")
async def tokens_page(request: Request, admin: Admin) -> Response:
    return await _tokens_page(request)


@router.post("")
async def create(request: Request, admin: Admin, form: Form) -> Response:
    try:
        made = await in_transaction(
            request,
            create_audited,
            name=form.get("name", ""),
            scope=form.get("scope", "read"),
            actor=admin.label,
            now=now(request),
        )
    except ApiError as exc:
        return await _tokens_page(request, exc.status, errors={"name": exc.message}, sent=form)
    # Shown once: only its SHA-256 is kept.
    return await _tokens_page(request, created=made)


@router.post("/{token_id}/revoke")
async def revoke(request: Request, admin: Admin, form: Form, token_id: RowId) -> Response:
    try:
        reason = reason_of(form)
    except ApiError as exc:
        # The confirmation again, open, with the error beside the reason.
        return await _tokens_page(request, exc.status, errors={f"reason-{token_id}": exc.message}, opened=token_id)
    return await act(
        request,
        revoke_audited,
        success="Token revoked.",
        back_to="/admin/tokens",
        token_id=token_id,
        actor=admin.label,
        reason=reason,
    )
