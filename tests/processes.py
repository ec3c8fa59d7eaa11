"""Real processes for tests: ``licentia serve`` on a loopback port, and bounded CPU load.

Every process starts in its own session (process group), so stopping it reaches
uvicorn's workers and anything else it forked; a start that fails or times out
is reaped before the error is raised, and ``stop_all`` at the end of the session
reaps whatever a test left behind. On a loaded machine a start can take a
minute: readiness is the server's own ``/readyz`` (or, where it has none, an
answer at all), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

# Generous on purpose: at a load average of 30 on two cores, a Python process
# gets a fifteenth of a core, and importing the server costs a second of CPU.
START_SECONDS = float(os.environ.get("LICENTIA_TEST_START_SECONDS", "240"))
STOP_SECONDS = 30.0
CLI_SECONDS = 300.0
STARTED = "Application startup complete"

_running: set[LiveServer] = set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def end_group(proc: subprocess.Popen[bytes], grace: float = STOP_SECONDS) -> None:
    """SIGTERM the process group of ``proc``, SIGKILL what is left after ``grace`` s, reap the leader.

    The leader is reaped last: until then its pid (the group's id) cannot be
    reused, so the SIGKILL cannot reach an unrelated group.
    """
    pid = proc.pid
    if proc.returncode is None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:  # not a group leader: the process alone, then
            proc.terminate()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            leader_done = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            if leader_done and not live_members(pid):
                break
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    deadline = time.monotonic() + 5  # SIGKILL is not instant: return once the group has died
    while live_members(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.wait()


def _end_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process dies, even by SIGKILL (Linux).

    The last safety net: a killed or timed-out test run leaves no server behind
    (uvicorn's supervisor stops its workers on SIGTERM).
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def live_members(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that are still running (not zombies), from Linux's /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Fields after the command name (which may hold spaces): state, ppid, pgrp.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


class LiveServer:
    """A real ``licentia serve`` process on a loopback port."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        niceness: int = 0,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.workers = workers
        self.env = env or {}
        self.niceness = niceness
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.log_start = 0

    def start(self, timeout: float = START_SECONDS) -> LiveServer:
        cmd = [sys.executable, "-m", "licentia", "serve", "--data-dir", str(self.data_dir)]
        cmd += ["--port", str(self.port), "--workers", str(self.workers)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        if self.niceness:
            cmd = ["nice", "-n", str(self.niceness), *cmd]
        # Tests change policies and check at once; production reuses them for 2 s.
        env = {**os.environ, "LICENTIA_PRODUCT_CACHE_SECONDS": "0", **self.env}
        env.pop("LICENTIA_DATABASE_URL", None)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed by stop)
        self.log_start = self.log.tell()  # a restarted server appends: count this start's lines only
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            # Linux ties the death signal to the thread that started the child: only the main one lives long enough.
            preexec_fn=_end_with_parent if threading.current_thread() is threading.main_thread() else None,
        )
        _running.add(self)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Return once the server answers (and, with several workers, every worker has started)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise RuntimeError(f"licentia serve exited with {code}:\n{self.log_tail()}")
                if self._answers(http) and self._workers_started():
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"licentia serve was not ready in {timeout:.0f} s:\n{self.log_tail()}")
                time.sleep(0.1)

    def _answers(self, http: httpx.Client) -> bool:
        """Ready: ``/readyz`` says so (the database answers, migrated); without it, an answer at all."""
        try:
            for method, path in (("GET", "/readyz"), ("GET", "/healthz"), ("POST", "/v1/ping")):
                response = http.request(method, path)
                if response.status_code != 404:
                    return response.status_code == 200
        except httpx.HTTPError:
            pass
        return False

    def _workers_started(self) -> bool:
        level = self.env.get("LICENTIA_LOG_LEVEL", os.environ.get("LICENTIA_LOG_LEVEL", "info")).lower()
        if self.workers <= 1 or level not in ("info", "debug", "trace"):
            return True  # one worker answered; or the log does not say when each one starts
        return self.log_text(since_start=True).count(STARTED) >= self.workers

    def stop(self) -> None:
        if self.proc is not None:
            end_group(self.proc)
        _running.discard(self)
        if hasattr(self, "log"):
            self.log.close()

    def log_text(self, since_start: bool = False) -> str:
        """The server's output so far (``since_start``: only since the last ``start``)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_start if since_start else 0)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def public_key(self, product: str = "my-app") -> str:
        return (self.data_dir / "keys" / f"{product}.pub").read_text().strip()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "licentia", *args, "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_SECONDS, check=False)


class BusyCpu:
    """``count`` processes spinning on the CPU for at most ``seconds``: a loaded machine, bounded.

    Each spinner stops by itself after ``seconds`` even if the test dies before
    ``stop`` (or the context manager's exit) ends them.
    """

    def __init__(self, count: int | None = None, seconds: float = 120) -> None:
        self.count = count if count is not None else 2 * (os.cpu_count() or 2)
        self.seconds = seconds
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyCpu:
        spin = f"import time\nend = time.monotonic() + {self.seconds}\nwhile time.monotonic() < end:\n    pass\n"
        for _ in range(self.count):
            proc = subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.DEVNULL, start_new_session=True)
            self.procs.append(proc)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for proc in self.procs:
            end_group(proc, grace=0)
        self.procs.clear()


def stop_all() -> None:
    """The session's safety net: reap every server a test started and did not stop."""
    for server in list(_running):
        server.stop()


class InProcessServer(LiveServer):
    """The server ``licentia serve`` runs (same bootstrap, app and uvicorn), on a thread of the test process.

    For tests of the SDK, whose subject is the client: the SDK still talks HTTP
    over a real loopback socket, through its own transport, to the real app on
    a real database; what is saved is a Python process start per server, which
    costs seconds on a loaded machine. Tests of the server process itself
    (workers, signals, logs, start-up) use :class:`LiveServer`.
    """

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        super().__init__(data_dir, database_url)
        self.thread: threading.Thread | None = None
        self.uvicorn: Any = None

    def start(self, timeout: float = START_SECONDS) -> InProcessServer:
        import uvicorn

        from licentia.core.clock import SystemClock
        from licentia.server.app import create_app
        from licentia.server.bootstrap import prepare
        from licentia.server.settings import load_settings

        # As the serve command sets it up, with the cache the live server's tests also turn off;
        # the database named here, never one a LICENTIA_DATABASE_URL in the environment names.
        database_url = self.database_url or f"sqlite:///{(self.data_dir / 'licentia.db').resolve()}"
        settings = load_settings(data_dir=self.data_dir, database_url=database_url, host="127.0.0.1", port=self.port)
        settings.product_cache_seconds = 0
        prepare(settings, SystemClock())
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_config=None, access_log=False,
            proxy_headers=False, lifespan="on",
        )  # fmt: skip
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uvicorn.run, name=f"licentia-server-{self.port}", daemon=True)
        self.thread.start()
        _running.add(self)
        try:
            deadline = time.monotonic() + timeout
            with httpx.Client(base_url=self.url, timeout=10) as http:
                while not (self.uvicorn.started and self._answers(http)):
                    if not self.thread.is_alive():
                        raise RuntimeError("the in-process server stopped while starting (see the captured log)")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the in-process server was not ready in {timeout:.0f} s")
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.uvicorn is not None:
            self.uvicorn.should_exit = True
        if self.thread is not None:
            self.thread.join(STOP_SECONDS)
            if self.thread.is_alive():
                self.uvicorn.force_exit = True
                self.thread.join(STOP_SECONDS)
        _running.discard(self)
