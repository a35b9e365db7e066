"""Real processes and servers the fault checks need: the arq worker as a subprocess
(`marketplace worker`, killed with SIGKILL and restarted) and a partner's webhook
receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.harness import LOGS_DIR, ROOT, server_env, stop_process

HEALTH_KEY = "arq:queue:health-check"  # arq writes it when its worker loop starts


class WorkerProcess:
    """`marketplace worker` (arq, every job and cron of `marketplace.worker`) as a real
    subprocess in its own process group, with the API's environment."""

    def __init__(self, database_url: str, redis_url: str, *, log_name: str) -> None:
        self.env = server_env(
            database_url, redis_url, LOG_LEVEL="INFO", WEBHOOK_ALLOW_PRIVATE_TARGETS="true"
        )
        self.redis_url = redis_url
        self.log = LOGS_DIR / f"{log_name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    async def start(self) -> None:
        """Start it and wait until its arq loop runs (it writes its health-check key)."""
        from redis.asyncio import Redis

        redis = Redis.from_url(self.redis_url)
        try:
            await redis.delete(HEALTH_KEY)
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                    [sys.executable, "-m", "marketplace.cli", "worker"],
                    env=self.env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.starts += 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {self.log.read_text()[-3000:]}")
                if await redis.exists(HEALTH_KEY):
                    return
                await asyncio.sleep(0.1)
            raise RuntimeError(f"worker not ready: {self.log.read_text()[-3000:]}")
        finally:
            await redis.aclose()

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no cleanup, its transactions cut off mid-way."""
        proc = self.proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills += 1
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class Receiver:
    """A partner's webhook endpoint on 127.0.0.1: records each POST (its `webhook-id`
    and the event's `data`), answering 204 after `delay` seconds, so deliveries are in
    flight for a while (a worker killed then dies mid-delivery)."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self.received: list[tuple[str, dict[str, object]]] = []
        self.in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != receiver.path:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.in_flight += 1
                try:
                    time.sleep(receiver.delay)
                    message = json.loads(body)
                    with receiver._lock:
                        receiver.received.append(
                            (self.headers.get("webhook-id", ""), dict(message.get("data") or {}))
                        )
                    self.send_response(204)
                    self.send_header("content-length", "0")
                    self.end_headers()
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[tuple[str, dict[str, object]]]:
        with self._lock:
            return list(self.received)
