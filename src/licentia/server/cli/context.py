"""What every ``licentia`` command shares: its one-line error, its options, and a ``CliContext``.

Only the standard library is imported here: building the parser and
answering ``--help`` must not load the server (SQLAlchemy, FastAPI). A
command asks its context for the settings or a database engine when it runs,
and pays for those imports then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

    from licentia.core.clock import Clock
    from licentia.server.settings import Settings
    from licentia.server.store.snapshot import Snapshot

Run = Callable[[argparse.Namespace, "CliContext"], int]


class CliError(Exception):
    """A problem to tell the user in one line (``licentia: error: ...``, exit status 1)."""


def actor() -> str:
    """Who acts, as the audit log names it: the operating-system user running the command."""
    return "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown")


@dataclass
class CliContext:
    """The settings, the clock and the database one command run works with.

    Everything is made on first use and released by :meth:`close`, so a
    command that only reads files never opens the database.
    """

    data_dir: str | None = None
    database_url: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: sa.Engine | None = field(default=None, repr=False)
    _clock: Clock | None = field(default=None, repr=False)

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
        toml_file = Path(os.environ.get("LICENTIA_CONFIG", "licentia.toml"))
        try:
            config = tomllib.loads(toml_file.read_text(encoding="utf-8")) if toml_file.is_file() else {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return self.settings.resolved_database_url  # the settings name the problem
        url = self.database_url or os.environ.get("LICENTIA_DATABASE_URL") or config.get("database_url")
        if url:
            return str(url)
        data_dir = self.data_dir or os.environ.get("LICENTIA_DATA_DIR") or config.get("data_dir") or "licentia-data"
        return f"sqlite:///{(Path(str(data_dir)) / 'licentia.db').resolve()}"

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A read-only snapshot for commands that only show: no SQLAlchemy unless the database needs migrating."""
        from licentia.server.store.snapshot import open_snapshot

        with open_snapshot(self.database_location) as found:
            if found is not None:
                yield found
                return
        self.engine  # noqa: B018 - creates and migrates the database (the slow path, once)
        with open_snapshot(self.database_location) as found:
            if found is None:
                raise CliError("the database could not be read after migrating it")
            yield found

    def audit(self, conn: sa.Connection, action: str, target_type: str, target_id: Any, **details: Any) -> None:
        """Write the audit entry of a change this command made, in the change's transaction."""
        from licentia.server.audit import record

        record(
            conn,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            now=self.clock.now(),
            **details,
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def date_argument(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` (or a full ISO date-time) as an aware UTC date-time."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def json_value(value: Any) -> str:
    """``json.dumps``'s ``default``: dates and date-times (a device's ``seen_day``) as ISO text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
    parent = argparse.ArgumentParser(add_help=False)
    global_options(parent, default=argparse.SUPPRESS)
    return parent
