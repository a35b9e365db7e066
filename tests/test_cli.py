"""The product as a user starts it: a real server process, embedded databases, a real key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_with_embedded_services_answers_and_admin_key_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["MARKETPLACE_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    cli = [sys.executable, "-m", "marketplace.cli"]
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--with-worker", "--seed-demo"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                break
            time.sleep(0.5)
        output = (
            server.stdout.read().decode() if server.poll() is not None and server.stdout else ""
        )
        assert ready is not None, output
        assert ready.status_code == 200, output
        checks = ready.json()["checks"]
        assert (checks["database"], checks["redis"]) == ("ok", "ok")
        # The worker `--with-worker` started beats: readiness reports it.
        while checks["worker"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.5)
            checks = httpx.get(f"{base}/readyz", timeout=2).json()["checks"]
        assert checks == {"database": "ok", "redis": "ok", "worker": "ok"}

        key = subprocess.run(
            [*cli, "admin-key"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert "\n" not in key
        assert key.startswith("mk_")
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert me.status_code == 200, me.text
        assert me.json()["organization"]["kind"] == "platform"
        orgs = httpx.get(
            f"{base}/v1/organizations",
            params={"kind": "cooperative", "region": "35.76", "limit": 50},
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        ).json()["items"]
        assert len(orgs) == 18  # the demo data set's Mojokerto cooperatives
        docs = httpx.get(f"{base}/schema/", timeout=5)
        assert docs.status_code == 200
        assert "/schema/assets/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        assert httpx.get(f"{base}/schema/assets/swagger-ui-bundle.js", timeout=5).status_code == 200
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    # SIGTERM stops everything `serve` started: the worker and the embedded servers.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _processes_mentioning(str(tmp_path)):
        time.sleep(0.2)
    assert not _processes_mentioning(str(tmp_path))


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


PARENT_SCRIPT = """
import subprocess, sys
from marketplace.cli import _die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         preexec_fn=_die_with_parent)
print(child.pid, flush=True)
child.wait()
"""


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_the_serve_commands_worker_dies_with_a_killed_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child_pid):
        time.sleep(0.05)
    assert not _alive(child_pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; its (dead) parent just never reaped it
