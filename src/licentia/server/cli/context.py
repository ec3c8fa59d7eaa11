"""What every ``licentia`` command shares: its one-line error, its options, and a ``CliContext``.

Only the standard library is imported here: building the parser and
answering ``--help`` must not load the server (SQLAlchemy, FastAPI). A
command asks its context for the settings or a database engine when it runs,
and pays for those imports then.
"""

from __future__ import annotations

import argparse
import os

# ``typing`` costs more than a third of a bare Python start: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from typing import Any, TypeVar

    import sqlalchemy as sa

    from licentia.core.clock import Clock
    from licentia.server.audit import AuditAction
    from licentia.server.settings import Settings
    from licentia.server.store.snapshot import Snapshot

    T = TypeVar("T")


class CliError(Exception):
    """A problem to tell the user in one line (``licentia: error: ...``, exit status 1)."""


def actor() -> str:
    """Who acts, as the audit log names it: the operating-system user running the command."""
    name = os.environ.get("USER") or os.environ.get("LOGNAME")
    if not name:  # a service or a container without a login: the account's name, else its number
        try:
            import pwd

            name = pwd.getpwuid(os.getuid()).pw_name
        except (ImportError, KeyError):
            name = f"uid-{getattr(os, 'getuid', lambda: 0)()}"
    return "cli:" + name


class CliContext:
    """The settings, the clock and the database one command run works with.

    Everything is made on first use and released by :meth:`close`, so a
    command that only reads files never opens the database. (A plain class:
    ``dataclasses`` alone costs a sixth of a bare Python start.)
    """

    def __init__(self, *, data_dir: str | None = None, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self._settings: Settings | None = None
        self._engine: sa.Engine | None = None
        self._clock: Clock | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        return cls(data_dir=getattr(args, "data_dir", None), database_url=getattr(args, "database_url", None))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from licentia.server.settings import load_settings

            self._settings = load_settings(data_dir=self.data_dir, database_url=self.database_url)
        return self._settings

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            from licentia.core.clock import SystemClock

            self._clock = SystemClock()
        return self._clock

    @property
    def actor(self) -> str:
        return actor()

    @property
    def engine(self) -> sa.Engine:
        """A sync engine on a migrated database (commands migrate first, like ``serve``)."""
        if self._engine is None:
            from licentia.server.store.engine import database_urls, make_sync_engine, upgrade

            urls = database_urls(self.settings.resolved_database_url)
            upgrade(urls)
            self._engine = make_sync_engine(urls, pool_size=1)
        return self._engine

    @property
    def database_location(self) -> str:
        """The database URL as ``Settings.resolved_database_url`` gives it, without loading pydantic.

        Options, then ``LICENTIA_*`` variables, then the TOML file, then the
        default; a test holds the two to the same answer.
        """
        if self._settings is not None:
            return self._settings.resolved_database_url
        url = self.database_url or os.environ.get("LICENTIA_DATABASE_URL")
        data_dir = self.data_dir or os.environ.get("LICENTIA_DATA_DIR")
        toml_file = os.environ.get("LICENTIA_CONFIG", "licentia.toml")
        if not url and os.path.isfile(toml_file):
            import tomllib

            try:
                with open(toml_file, "rb") as handle:
                    config = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError):
                return self.settings.resolved_database_url  # the settings name the problem
            url, data_dir = config.get("database_url"), data_dir or config.get("data_dir")
        if url:
            return str(url)
        return "sqlite:///" + os.path.realpath(os.path.join(str(data_dir or "licentia-data"), "licentia.db"))

    def snapshot(self) -> Snapshot:
        """A read-only snapshot (use it in ``with``) for commands that only show.

        No SQLAlchemy is loaded unless the database must be created or migrated first.
        """
        from licentia.server.store.snapshot import open_snapshot

        found = open_snapshot(self.database_location)
        if found is None:
            self.engine  # noqa: B018 - creates and migrates the database (the slow path, once)
            found = open_snapshot(self.database_location)
        if found is None:
            raise CliError("the database could not be read after migrating it")
        return found

    def read(self, query: Callable[..., T], /, **kwargs: Any) -> T:
        """What ``query(conn, **kwargs)`` reads, on one connection (no write, no audit entry)."""
        with self.engine.connect() as conn:
            return query(conn, **kwargs)

    def change(self, service: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a change ``service(conn, actor=..., now=..., **kwargs)`` in one transaction, as this user, now.

        The services that change what the vendor controls write their own audit entry from ``actor``.
        """
        with self.engine.begin() as conn:
            return service(conn, actor=self.actor, now=self.clock.now(), **kwargs)

    def audit(self, conn: sa.Connection, action: AuditAction, target_id: Any, **details: Any) -> None:
        """Write the audit entry of a change this command made, in the change's transaction."""
        from licentia.server.audit import record

        record(conn, action, target_id, actor=self.actor, now=self.clock.now(), **details)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def date_argument(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` (or a full ISO date-time) as an aware UTC date-time."""
    import datetime as dt

    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def json_value(value: Any) -> str:
    """``json.dumps``'s ``default``: dates and date-times (a device's ``seen_day``) as ISO text."""
    import datetime as dt

    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def terminal_width() -> int:
    """``shutil.get_terminal_size``'s answer (``COLUMNS``, else the terminal, else 80) without ``shutil``."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(1).columns
        except (OSError, ValueError):
            columns = 80
    return columns


class Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized without importing ``shutil``.

    argparse makes a formatter for every argument it adds, and the stock one
    imports ``shutil`` (and with it ``bz2`` and ``lzma``): a tenth of a bare
    Python start, paid by every command before it runs.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, terminal_width() - 2 if width is None else width)


class RawFormatter(argparse.RawDescriptionHelpFormatter, Formatter):
    """:class:`Formatter` that keeps a description's own line breaks."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help uses :class:`Formatter`; its subcommands' parsers are Parsers too."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(**kwargs)


def global_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """``--data-dir`` and ``--database-url``, accepted before the command and after it.

    The top-level parser holds the real defaults (``None``); every command's
    parser gets the same options with ``argparse.SUPPRESS``, so an option
    given before the command is not overwritten by the command's default.
    """
    parser.add_argument(
        "--data-dir", default=default, help="data directory (default ./licentia-data or LICENTIA_DATA_DIR)"
    )
    parser.add_argument("--database-url", default=default, help="database URL (default SQLite in the data directory)")


def command_options() -> argparse.ArgumentParser:
    """The parent parser every command's parser is made with (see :func:`global_options`)."""
    parent = Parser(add_help=False)
    global_options(parent, default=argparse.SUPPRESS)
    return parent
