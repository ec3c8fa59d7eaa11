"""What the running app shares, typed once: :class:`AppState`, and the dependencies routes declare.

``create_app`` makes one ``AppState`` and sets it as ``app.state``; the
lifespan adds what lives only while the app runs (the engine, the writer, the
status checker). Routes take what they need as ``Annotated`` dependencies
(``clock: ClockDep``, ``engine: EngineDep``, ``state: StateDep``...) and run
sync services with ``transactions.in_transaction(engine, fn, ...)``; background
tasks, which get the app, call :func:`state_of`.

What one request learns about its visitor (the signed-in admin or customer) is
kept typed too: each UI declares a :class:`RequestSlot` (``admin.web.SIGNED_IN_ADMIN``,
``portal.web.SIGNED_IN_CUSTOMER``), the only readers and writers of Starlette's
untyped ``request.state``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from cryptography.fernet import Fernet
from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from licentia.core.clock import Clock
from licentia.server.network import Network
from licentia.server.settings import Settings
from licentia.server.store.writer import Writer

if TYPE_CHECKING:
    from licentia.server.devices.service import Checker
    from licentia.server.sso.issuers import Issuers

T = TypeVar("T")
# A start-up task: started with the app, cancelled when it stops (``None``: nothing to run).
StartupTask = Callable[[FastAPI], Awaitable[Any]]


class AppState:
    """The app's shared objects. Made by ``create_app``; the engine, writer and checker by its lifespan."""

    settings: Settings
    clock: Clock
    fernet: Fernet
    trusted_proxies: list[Network]
    startup_tasks: list[StartupTask]
    # The identity providers' discovery documents and keys, cached (sso.issuers); made by ``create_app``.
    sso_issuers: Issuers
    # Made by the lifespan (reading them earlier is an AttributeError).
    async_engine: AsyncEngine
    writer: Writer
    checker: Checker

    def __init__(self, *, settings: Settings, clock: Clock, fernet: Fernet, trusted_proxies: list[Network]) -> None:
        self.settings = settings
        self.clock = clock
        self.fernet = fernet
        self.trusted_proxies = trusted_proxies
        self.startup_tasks = []


def state_of(app: Starlette) -> AppState:
    state = app.state
    if not isinstance(state, AppState):
        raise TypeError("not an app made by licentia.server.app.create_app")
    return state


def _state(request: Request) -> AppState:
    return state_of(request.app)


def _clock(request: Request) -> Clock:
    return state_of(request.app).clock


def _writer(request: Request) -> Writer:
    return state_of(request.app).writer


def _settings(request: Request) -> Settings:
    return state_of(request.app).settings


def _fernet(request: Request) -> Fernet:
    return state_of(request.app).fernet


def _engine(request: Request) -> AsyncEngine:
    return state_of(request.app).async_engine


StateDep = Annotated[AppState, Depends(_state)]
ClockDep = Annotated[Clock, Depends(_clock)]
WriterDep = Annotated[Writer, Depends(_writer)]
SettingsDep = Annotated[Settings, Depends(_settings)]
# The key that seals secrets at rest (private keys, webhook secrets); ``settings.fernet()`` also reads old keys.
FernetDep = Annotated[Fernet, Depends(_fernet)]
# For sync services: ``await transactions.in_transaction(engine, fn, **kwargs)`` (or ``read_only``).
EngineDep = Annotated[AsyncEngine, Depends(_engine)]


# The visitor one request carries, set by the sign-in dependencies (``admin.web``, ``portal.web``) and
# read by the pages' ``render``. Starlette's ``request.state`` is untyped; these four are its only users.


class RequestSlot(Generic[T]):
    """One typed value a request carries after a dependency found it (the signed-in admin or customer).

    Starlette's ``request.state`` is untyped; each value lives in one slot,
    read back as its type or ``None``.
    """

    def __init__(self, name: str, kind: type[T]) -> None:
        self.name = name
        self.kind = kind

    def remember(self, request: Request, value: T) -> None:
        setattr(request.state, self.name, value)

    def of(self, request: Request) -> T | None:
        value = getattr(request.state, self.name, None)
        return value if isinstance(value, self.kind) else None
