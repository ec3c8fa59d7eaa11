"""Several Licentia hosts on one machine, as deploy/ runs them: each in its own network namespace.

    bridge licf<run>b (root namespace)  10.X.Y.1/24   PostgreSQL listens here (its own throwaway cluster)
    namespace licf<run>h<i>             10.X.Y.1<i>   ``licentia serve --host 0.0.0.0 --port 8000``
    HAProxy (root namespace)          127.0.0.1:P   deploy/haproxy.cfg's defaults and backend, hosts above

Used by bench/failover.py and bench/rolling_upgrade.py (and, through them, tests/deploy/). Needs
root (CAP_NET_ADMIN), iproute2, haproxy and Debian's postgresql; :class:`Unavailable` says which
is missing. ``<run>`` is this process's id in hex, so runs never collide; everything made is
removed by :meth:`Cluster.close` (also after a failure, SIGTERM or the run's own time limit), and
leftovers of a run that was killed outright are removed by the next run (their process is gone).
Traffic goes only to loopback and to the namespaces made here.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from haproxy import HOST_PORT, Proxy

from processes import die_with_parent, end, free_port, run, spawn

PREFIX = "licf"  # + this run's process id in hex + a suffix: at most 12 characters (IFNAMSIZ 15)
WORKDIR_PREFIX = "licentia-cluster-"


class Unavailable(RuntimeError):
    """This machine cannot run the cluster (not root, no haproxy, ...): the reason, for a skip."""


def check_machine() -> None:
    """Raise :class:`Unavailable` unless network namespaces, haproxy and PostgreSQL can be had."""
    if os.geteuid() != 0:
        raise Unavailable("network namespaces need root (CAP_NET_ADMIN)")
    for tool in ("ip", "haproxy"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed (apt-get install iproute2 haproxy)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        pwd.getpwnam("postgres")  # PostgreSQL refuses to run as root
    except KeyError:
        raise Unavailable("no postgres user to run PostgreSQL as (Debian's postgresql package makes it)") from None
    probe = f"{PREFIX}{os.getpid():x}x"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        raise Unavailable(f"cannot make a network namespace: {made.stderr.strip()}")
    run("ip", "netns", "del", probe, check=False)


def remove_leftovers() -> None:
    """Namespaces and bridges of earlier runs whose process is gone (killed before it could clean up)."""
    names = run("ip", "netns", "list", check=False).stdout.split()
    links = [
        line.split(":")[1].strip().split("@")[0] for line in run("ip", "-o", "link", check=False).stdout.splitlines()
    ]
    for name in [n for n in names + links if n.startswith(PREFIX) and len(n) > len(PREFIX) + 1]:
        run_id = name[len(PREFIX) : -2 if name[-2] in "hpv" else -1]
        try:
            pid = int(run_id, 16)
        except ValueError:
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            if name in names:
                _kill_namespace(name)
            else:
                run("ip", "link", "del", name, check=False)
    for workdir in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*-*"):
        with contextlib.suppress(ValueError):
            if not Path(f"/proc/{int(workdir.name[len(WORKDIR_PREFIX) :].split('-')[0], 16)}").exists():
                shutil.rmtree(workdir, ignore_errors=True)


def _kill_namespace(name: str) -> None:
    for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "del", name, check=False)


class Network:
    """A bridge in the root namespace and one namespace per host, joined by veth pairs."""

    def __init__(self, hosts: int) -> None:
        self.run_id = f"{PREFIX}{os.getpid():x}"
        self.bridge = f"{self.run_id}b"
        self.namespaces = [f"{self.run_id}h{i}" for i in range(1, hosts + 1)]
        self.subnet = self._free_subnet()
        self.gateway = f"{self.subnet}.1"
        self.addresses = [f"{self.subnet}.{10 + i}" for i in range(1, hosts + 1)]

    @staticmethod
    def _free_subnet() -> str:
        used = run("ip", "-4", "-o", "addr", check=False).stdout + run("ip", "-4", "route", check=False).stdout
        for _ in range(100):
            subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
            if f" {subnet}." not in used:
                return subnet
        raise Unavailable("no free 10.x.y.0/24 subnet for the bridge")

    def create(self) -> None:
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for i, (ns, address) in enumerate(zip(self.namespaces, self.addresses, strict=True), start=1):
            outside, inside = f"{self.run_id}v{i}", f"{self.run_id}p{i}"
            run("ip", "netns", "add", ns)
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            run("ip", "link", "set", inside, "netns", ns)
            run("ip", "link", "set", outside, "master", self.bridge, "up")
            run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", inside)
            run("ip", "-n", ns, "link", "set", inside, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def remove(self) -> None:
        for ns in self.namespaces:
            _kill_namespace(ns)  # deleting a namespace removes its veth pair
        run("ip", "link", "del", self.bridge, check=False)


class Postgres:
    """A throwaway PostgreSQL cluster listening on the bridge (the hosts' private network).

    The server runs in the foreground as a child of this run (as the ``postgres`` user), so it
    dies with the run whatever happens; its backends follow their postmaster.
    """

    def __init__(self, workdir: Path, address: str, subnet: str) -> None:
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))[-1].parent
        self.dir = workdir / "pg"
        self.address, self.subnet = address, subnet
        self.port = free_port()
        self.url = f"postgresql://postgres@{address}:{self.port}/licentia"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import psycopg

        self.dir.mkdir(mode=0o700)
        shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self.dir.parent.chmod(0o711)  # the postgres user passes through this run's directory to its own
        made = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
            user="postgres", group="postgres", extra_groups=[], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stdout}{made.stderr}")
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.subnet}.0/24 trust\n")  # the hosts' network, made for this run only
        cmd = [str(self.bin / "postgres"), "-D", str(data), "-h", self.address, "-p", str(self.port)]
        cmd += ["-k", str(self.dir), "-c", "max_connections=200", "-c", "fsync=on"]
        with open(self.dir / "server.log", "ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                user="postgres", group="postgres", extra_groups=[], preexec_fn=die_with_parent,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        admin = f"postgresql://postgres@{self.address}:{self.port}/postgres"
        while True:
            try:
                with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                    conn.execute("CREATE DATABASE licentia")
                return
            except psycopg.OperationalError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from exc
                time.sleep(0.2)

    def stop(self) -> None:
        end(self.proc, signal.SIGINT, grace=30)  # SIGINT: PostgreSQL's fast shutdown


class Host:
    """``licentia serve`` in its namespace; ``code`` is the source tree it runs (None: this one)."""

    def __init__(self, name: str, namespace: str, address: str, workdir: Path, env: dict[str, str]) -> None:
        self.name, self.namespace, self.address = name, namespace, address
        self.url = f"http://{address}:{HOST_PORT}"
        self.data_dir = workdir / name
        self.log = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.code: Path | None = None

    def start(self, database_url: str, workers: int, code: Path | None = None) -> None:
        self.code = code
        env = {**os.environ, **self.env}
        if code is not None:  # another release's source tree, ahead of this one's installed package
            env["PYTHONPATH"] = str(code)
        cmd = ["ip", "netns", "exec", self.namespace, sys.executable, "-m", "licentia", "serve"]
        cmd += ["--host", "0.0.0.0", "--port", str(HOST_PORT), "--workers", str(workers)]  # all of its namespace
        cmd += ["--data-dir", str(self.data_dir), "--database-url", database_url]
        self.proc = spawn(cmd, self.log, env)

    def wait_ready(self, timeout: float = 180) -> str:
        """Wait for ``/readyz`` to answer 200 (from the root namespace, as HAProxy asks); the revision."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    answer = http.get(f"{self.url}/readyz")
                    if answer.status_code == 200:
                        return str(answer.json()["revision"])
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def crash(self) -> None:
        """``kill -9`` of every process of the host, as a power cut or an OOM kill does."""
        end(self.proc, signal.SIGKILL, grace=10)

    def stop(self) -> None:
        """A graceful stop (systemd's SIGTERM): the requests in flight are answered first."""
        end(self.proc, signal.SIGTERM, grace=30)


class Cluster:
    """The network, PostgreSQL, the hosts and HAProxy; a context manager that removes them all."""

    def __init__(self, hosts: int = 3, workers: int = 1) -> None:
        check_machine()
        remove_leftovers()
        self.workers = workers
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid():x}-"))
        self.network = Network(hosts)
        self.postgres = Postgres(self.workdir, self.network.gateway, self.network.subnet)
        from cryptography.fernet import Fernet

        env = {
            "LICENTIA_SECRET_KEY": Fernet.generate_key().decode(),  # shared by every host, as shared.env says
            "LICENTIA_TRUSTED_PROXIES": f'["{self.network.gateway}/32"]',
            "LICENTIA_PUBLIC_URL": "http://127.0.0.1",
            "LICENTIA_LOG_LEVEL": "warning",
        }
        self.env = env
        self.hosts = [
            Host(f"host{i}", ns, address, self.workdir, env)
            for i, (ns, address) in enumerate(zip(self.network.namespaces, self.network.addresses, strict=True), 1)
        ]
        self.proxy = Proxy(self.workdir, self.hosts)

    @property
    def database_url(self) -> str:
        return self.postgres.url

    def __enter__(self) -> Cluster:
        try:
            self.network.create()
            self.postgres.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def licentia(self, *args: str, code: Path | None = None) -> str:
        """A ``licentia`` command from the root namespace, on the cluster's database; its output."""
        env = {**os.environ, **self.env}
        if code is not None:
            env["PYTHONPATH"] = str(code)
        cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(self.workdir / "admin")]
        cmd += ["--database-url", self.database_url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"licentia {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self, code: Path | None = None) -> str:
        """Prepare the database once, start every host and HAProxy; the product's public key."""
        self.licentia("init", code=code)  # one migration, before any host starts (they would race)
        for host in self.hosts:
            host.start(self.database_url, self.workers, code)
        for host in self.hosts:
            host.wait_ready()
        self.proxy.start()
        for host in self.hosts:
            self.proxy.wait_status(host, "UP")
        return (self.workdir / "admin" / "keys" / "my-app.pub").read_text().strip()

    def close(self) -> None:
        self.proxy.stop()
        for host in self.hosts:
            host.crash()
        self.postgres.stop()
        self.network.remove()
        shutil.rmtree(self.workdir, ignore_errors=True)


def bounded(seconds: float) -> None:
    """End this run (through its clean-up) on SIGTERM, SIGINT, or once ``seconds`` have passed."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum} (time limit or interrupt); cleaning up")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(int(seconds))


def main_of(scenario: Callable[[], Any], report: Callable[[Any], str], json_path: Path | None, seconds: float) -> int:
    """Run a scenario within ``seconds`` and print its figures (2 when this machine cannot run it)."""
    bounded(seconds)  # a hung run still ends, and cleans up
    try:
        figures = scenario()
    except Unavailable as exc:
        print(f"cannot run here: {exc}", file=sys.stderr)
        return 2
    print(report(figures), flush=True)
    if json_path:
        json_path.write_text(json.dumps(asdict(figures), indent=2))
    return 0
