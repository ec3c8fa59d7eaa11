"""First start: a data directory, a migrated database, and a first product ready to use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from licentia.core.clock import Clock
from licentia.server.products.service import create_product, public_keys
from licentia.server.settings import Settings
from licentia.server.store.engine import database_urls, make_sync_engine, upgrade
from licentia.server.store.tables import products

FIRST_PRODUCT = "my-app"


@dataclass(frozen=True)
class Ready:
    product: str | None
    public_key: str | None
    public_key_path: Path | None
    created: bool


def prepare(settings: Settings, clock: Clock) -> Ready:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    urls = database_urls(settings.resolved_database_url)
    upgrade(urls)
    fernet = settings.fernet()
    engine = make_sync_engine(urls, pool_size=1)
    try:
        with engine.begin() as conn:
            first = conn.execute(sa.select(products).order_by(products.c.id).limit(1)).first()
            created = False
            if first is None:
                made = create_product(conn, slug=FIRST_PRODUCT, name="My App", fernet=fernet, now=clock.now())
                slug, key, created = made.slug, made.public_key, True
            else:
                slug, key = first.slug, public_keys(conn, first.id)[0]
    finally:
        engine.dispose()
    path = write_public_key(settings, slug, key)
    return Ready(slug, key, path, created)


def write_public_key(settings: Settings, slug: str, key: str) -> Path:
    keys_dir = settings.data_dir / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = (keys_dir / f"{slug}.pub").resolve()
    path.write_text(key + "\n")
    return path


def snippet(base_url: str, slug: str, key: str) -> str:
    return (
        "from licentia.client import Licentia\n"
        f'lic = Licentia("{base_url}", "{slug}",\n'
        f'               "{key}")\n'
        "status = lic.check()\n"
        'if not status.allowed: raise SystemExit(f"Not licensed: {status.reason}")'
    )


# The Go client's module (clients/go, docs/integrate-go.md).
GO_MODULE = "github.com/licentia/licentia/clients/go"


def go_snippet(base_url: str, slug: str, key: str) -> str:
    """The same five lines for a Go application (``dataDir``: where the application keeps its data)."""
    return (
        f'import licentia "{GO_MODULE}"\n\n'
        f'lic, err := licentia.New(licentia.Options{{ServerURL: "{base_url}", Product: "{slug}",\n'
        f'    PublicKey: "{key}", DataDir: dataDir}})\n'
        "if err != nil { log.Fatal(err) }\n"
        'if status := lic.Check(ctx); !status.Allowed { log.Fatalf("Not licensed: %s", status.Reason) }'
    )
