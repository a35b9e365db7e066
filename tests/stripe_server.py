"""A real Stripe-compatible HTTP server for the payments tests: localstripe.

localstripe (GPL) is a test-time tool: it runs as its own process on a free port and the
product talks to it over HTTP through `STRIPE_API_BASE`, exactly as it talks to Stripe;
nothing in `src/` imports it. `reset()` empties its store between tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.settings import Settings

STRIPE_TEST_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_test_payments_secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StripeServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = tempfile.TemporaryDirectory(prefix="localstripe-")
        self.log = open(Path(self.workdir.name) / "localstripe.log", "wb")  # noqa: SIM115
        executable = Path(sys.executable).parent / "localstripe"
        self.process = subprocess.Popen(
            [str(executable), "--port", str(self.port), "--from-scratch"],
            cwd=self.workdir.name,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.process.returncode}")
            try:
                response = httpx.get(
                    f"{self.url}/v1/customers",
                    headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"},
                    timeout=1.0,
                )
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("localstripe did not answer in time")

    def reset(self) -> None:
        httpx.delete(f"{self.url}/_config/data", timeout=5.0).raise_for_status()

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"},
            timeout=5.0,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.workdir.cleanup()


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: ``t=<unix>,v1=hex(HMAC_SHA256(secret, "<t>.<payload>"))``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(
    event_id: str, event_type: str, obj: dict[str, Any], created: int | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()) if created is None else created,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    server = StripeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stripe_settings(settings: Settings, stripe_server: StripeServer) -> Settings:
    return msgspec.structs.replace(
        settings,
        stripe_api_key=STRIPE_TEST_KEY,
        stripe_api_base=stripe_server.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture(scope="session")
def stripe_app(stripe_settings: Settings) -> Litestar:
    from marketplace.app import create_app

    return create_app(stripe_settings)


@pytest.fixture(scope="session")
async def stripe_client(stripe_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=stripe_app, raise_server_exceptions=False) as client:
        yield client
