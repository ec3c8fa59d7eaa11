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


@dataclass(frozen=True)
class Snippet:
    """An application's five lines in one language: what ``licentia serve`` prints and the admin pages show."""

    language: str
    install: str  # how the client is added to a project
    guide: str  # the integration guide, under docs/
    code: str


def snippet(base_url: str, slug: str, key: str) -> str:
    """The Python lines (the SDK this package is)."""
    return snippets(base_url, slug, key)[0].code


def snippets(base_url: str, slug: str, key: str) -> list[Snippet]:
    """The five lines for every client, this server's URL, the product and its public key filled in."""
    return [
        Snippet("Python", "pip install licentia", "docs/integrate-python.md", (
            "from licentia.client import Licentia\n"
            f'lic = Licentia("{base_url}", "{slug}",\n'
            f'               "{key}")\n'
            "status = lic.check()\n"
            'if not status.allowed: raise SystemExit(f"Not licensed: {status.reason}")'
        )),
        Snippet("TypeScript", "npm install @licentia/client", "docs/integrate-js.md", (
            'import { Licentia } from "@licentia/client";\n'
            f'const lic = new Licentia({{ serverUrl: "{base_url}", product: "{slug}",\n'
            f'  publicKey: "{key}", dataDir }});\n'
            "const status = await lic.check();\n"
            "if (!status.allowed) showRegistration(status.reason);"
        )),
        Snippet("C", "pkg-config --cflags --libs licentia", "docs/integrate-c.md", (
            "licentia *lic; licentia_status *st;\n"
            f'if (licentia_open(&lic, "{base_url}", "{slug}",\n'
            f'                  "{key}", data_dir) != LICENTIA_OK) abort();\n'
            "if (licentia_check(lic, 1, &st) == LICENTIA_OK && !licentia_status_allowed(st))\n"
            "    show_registration(licentia_status_reason(st));"
        )),
        Snippet("Go", f"go get {GO_MODULE}", "docs/integrate-go.md", go_snippet(base_url, slug, key)),
        Snippet("Java", "dev.licentia:licentia-client (Maven Central)", "docs/integrate-java.md",
                java_snippet(base_url, slug, key)),
    ]  # fmt: skip


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


def java_snippet(base_url: str, slug: str, key: str) -> str:
    """The same five lines for a Java application (clients/java, docs/integrate-java.md)."""
    return (
        "import dev.licentia.client.*;\n"
        f'Licentia lic = Licentia.builder().serverUrl("{base_url}").product("{slug}")\n'
        f'        .publicKey("{key}").dataDir(appDataDir).build();\n'
        "Status status = lic.check();\n"
        'if (!status.allowed()) throw new IllegalStateException("Not licensed: " + status.reason());'
    )
