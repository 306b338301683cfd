"""Real Weir processes for the scale-out test: API replicas, workers, schedulers, a Redis.

Every process is a subprocess of the test with its output in a log file; ``Cluster.stop`` ends
them all (SIGTERM, then SIGKILL after a grace), whatever happened in the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {seconds} s")


class Cluster:
    """The processes of one test, started with ``environ`` and logged under ``logs``."""

    def __init__(self, *, environ: dict[str, str], logs: Path) -> None:
        self.environ = {**os.environ, "PYTHONPATH": str(ROOT), **environ}
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, *arguments: str, extra: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 -- closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *arguments],
            cwd=ROOT,
            env={**self.environ, **(extra or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()  # the child holds its own descriptor
        self.processes[name] = process
        return process

    def start_api(self, name: str) -> int:
        port = free_port()
        self.start(name, "serve", "--port", str(port), extra={"WEIR_PORT": str(port)})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.processes[name].poll() is None, self.log_of(name)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return port
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{name} did not answer /healthz:\n{self.log_of(name)}")

    def log_of(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def terminate(self, name: str, grace: float = 15.0) -> int:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        return process.returncode

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


class OwnRedis:
    """A redis-server of the test's own (the machine's Redis is shared with other tests), which
    the test may stop and start again on the same port. No persistence: a restart loses every
    queued message, which is the point."""

    def __init__(self, logs: Path) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is not installed"
        self.executable = executable
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.logs / "redis.log", "ab")  # noqa: SIM115 -- closed with the process
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the port stays open and every command hangs (a frozen Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class OwnPostgres:
    """A PostgreSQL server of the test's own, in a temporary data directory, which the test may
    stop (fast shutdown: connections are cut), start again on the same port, or restart.

    PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` user.
    Trust authentication on 127.0.0.1 only; database ``weir``.
    """

    def __init__(self, base: Path) -> None:
        self.bin = Path(shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl").parent
        self.base = base / "pgdata"
        self.port = free_port()
        self.log = base / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            base.chmod(0o777)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/weir"

    def _run(self, *command: str, timeout: float = 60) -> None:
        subprocess.run([*self._as_user, *command], check=True, timeout=timeout, capture_output=True)

    def create(self) -> None:
        """initdb, start, and create the ``weir`` database."""
        self._run(
            str(self.bin / "initdb"), "-D", str(self.base), "-U", "postgres", "--auth=trust", "--no-sync"
        )
        with open(self.base / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n"
            )
        self.start()
        self._create_database()

    def _create_database(self) -> None:
        import asyncpg

        async def create() -> None:
            connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
            try:
                await connection.execute("CREATE DATABASE weir")
            finally:
                await connection.close()

        # In a thread of its own: the caller may be inside an event loop (an async fixture).
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, create()).result(timeout=30)

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.base), "-l", str(self.log), "-w", "start")
        wait_for_port(self.port, 20)

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as in a restart or a failover."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.base), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.base), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
