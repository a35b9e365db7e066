"""Shared benchmark pieces: servers, fresh databases, the API as a subprocess, the report.

Nothing here asserts on time: every benchmark returns `Result` records (a figure, the
baseline measured in the same run, their ratio and the target) and `write_report` puts
them in `bench/results/latest.md` and `latest.json`.

PostgreSQL and Redis: `DATABASE_URL` / `REDIS_URL` when set (a fresh database is created
on that server per benchmark and dropped afterwards), otherwise embedded servers under a
temporary data folder, removed at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from marketplace.settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Server output, for when something fails: outside the repository.
LOGS_DIR = Path(tempfile.gettempdir()) / "marketplace-bench-logs"


# --- results ------------------------------------------------------------------------


@dataclass
class Result:
    """One figure of one benchmark, with its same-run baseline and its target."""

    name: str
    figure: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    notes: str = ""


@dataclass
class Section:
    """What one benchmark reports: its figures, plus free text (plans, round trips)."""

    name: str
    results: list[Result] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    date: str = ""  # when it was measured (a report may carry over earlier runs)

    def add(self, result: Result) -> Result:
        self.results.append(result)
        print(f"  {_result_line(result)}", flush=True)
        return result

    def note(self, text: str) -> None:
        self.details.append(text)
        print(text, flush=True)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _result_line(r: Result) -> str:
    return (
        f"{r.name}: {_fmt(r.figure)} {r.unit} | baseline {_fmt(r.baseline)} | "
        f"ratio {_fmt(r.ratio)} | target {r.target or '—'}" + (f" | {r.notes}" if r.notes else "")
    )


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


CARRIED_OVER = "Carried over from the run of"


def _key(section_name: str) -> str:
    return section_name.split(":", 1)[0]


def _merge_previous(sections: Sequence[Section]) -> list[Section]:
    """This run's sections, plus those of the previous report this run did not repeat
    (`make bench b=hot_sku` refreshes one benchmark without dropping the others), each
    marked with the date of the run that measured it."""
    previous_file = RESULTS_DIR / "latest.json"
    try:
        previous = json.loads(previous_file.read_text())
        old = previous["benchmarks"]
        date = previous["machine"]["date"]
    except (OSError, ValueError, KeyError, TypeError):
        return list(sections)
    fresh = {_key(s.name): s for s in sections}
    merged: list[Section] = []
    for entry in old:
        key = _key(entry["name"])
        if key in fresh:
            merged.append(fresh.pop(key))
            continue
        carried_over = f"{CARRIED_OVER} {entry.get('date', date)} (not re-run)."
        details = [d for d in entry.get("details", []) if not d.startswith(CARRIED_OVER)]
        merged.append(
            Section(
                name=entry["name"],
                results=[Result(**r) for r in entry.get("results", [])],
                details=[carried_over, *details],
                seconds=float(entry.get("seconds", 0.0)),
                load_before=float(entry.get("load_average", [0.0, 0.0])[0]),
                load_after=float(entry.get("load_average", [0.0, 0.0])[1]),
                date=str(entry.get("date", date)),
            )
        )
    merged += [s for s in sections if _key(s.name) in fresh]
    return merged


def write_report(sections: Sequence[Section], extra: dict[str, Any]) -> str:
    """Write `latest.md` and `latest.json` (keeping the previous report's benchmarks that
    were not re-run); return the markdown."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    info = {**machine(), **extra, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    for section in sections:
        section.date = section.date or info["date"]
    sections = _merge_previous(sections)
    lines = [
        "# Benchmark report",
        "",
        f"{info['date']} · {info['cores']} cores ({info['cpu']}) · Python {info['python']}"
        + (f" · PostgreSQL {info['postgres']}" if info.get("postgres") else ""),
        "",
        "Figures, same-run baselines and ratios are recorded, never asserted. "
        "Latencies are in ms, rates per second."
        + (
            " Benchmarks this run did not repeat are carried over from an earlier run "
            "(the date in their heading)."
            if any(s.details and s.details[0].startswith(CARRIED_OVER) for s in sections)
            else ""
        ),
        "",
        "| benchmark | figure | unit | baseline | ratio | target | notes |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for section in sections:
        for r in section.results:
            notes = r.notes.replace("|", "\\|")
            lines.append(
                f"| {r.name} | {_fmt(r.figure)} | {r.unit} | {_fmt(r.baseline)} | "
                f"{_fmt(r.ratio)} | {r.target} | {notes} |"
            )
    for section in sections:
        lines += [
            "",
            f"## {section.name} ({section.seconds:.0f} s, {section.date})",
            "",
            f"1-minute load average {section.load_before:.1f} before, "
            f"{section.load_after:.1f} after (it counts this benchmark's own servers too; "
            f"well above {info['cores']}, the cores were contended and latencies inflated).",
            "",
        ]
        for detail in section.details:
            lines += [detail, ""]
    markdown = "\n".join(lines).rstrip() + "\n"
    (RESULTS_DIR / "latest.md").write_text(markdown)
    payload = {
        "machine": info,
        "benchmarks": [
            {
                "name": s.name,
                "date": s.date,
                "seconds": round(s.seconds, 1),
                "load_average": [s.load_before, s.load_after],
                "results": [asdict(r) for r in s.results],
                "details": s.details,
            }
            for s in sections
        ],
    }
    (RESULTS_DIR / "latest.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return markdown


# --- servers and databases ----------------------------------------------------------


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@dataclass
class Services:
    """A PostgreSQL server (admin URL, SQLAlchemy form) and a Redis URL."""

    server_url: str
    redis_url: str
    embedded: bool

    @contextlib.contextmanager
    def database(self, prefix: str) -> Iterator[str]:
        """A fresh database migrated to head; yields its SQLAlchemy URL, drops it after."""
        name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
        admin = asyncpg_dsn(self.server_url)

        async def run(sql: str) -> None:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        from marketplace.migrations_runner import upgrade

        asyncio.run(run(f'CREATE DATABASE "{name}"'))
        url = make_url(self.server_url).set(database=name).render_as_string(False)
        try:
            upgrade(url)
            yield url
        finally:
            asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def postgres_version(self) -> str:
        async def version() -> str:
            conn = await asyncpg.connect(asyncpg_dsn(self.server_url))
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        return asyncio.run(version())


def start_services() -> Services:
    database_url = normalize_database_url(os.environ.get("DATABASE_URL"))
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        return Services(database_url, redis_url, embedded=False)
    from marketplace.embedded import start_postgres, start_redis

    data_dir = Path(tempfile.mkdtemp(prefix="marketplace-bench-"))
    # Registered first, so it runs after the embedded servers' own exit handlers.
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    database_url = database_url or start_postgres(data_dir, database="postgres")
    redis_url = redis_url or start_redis(data_dir)
    return Services(database_url, redis_url, embedded=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """An HTTP server as a real subprocess (its own process group), ready when
    `ready_path` answers 200; stopped with SIGTERM (SIGKILL to its group if it hangs)."""

    def __init__(
        self, argv: list[str], *, port: int, env: dict[str, str], ready_path: str, log: Path
    ) -> None:
        self.argv = argv
        self.port = port
        self.env = env
        self.ready_path = ready_path
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + self.ready_path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a subprocess started in its own session; SIGKILL its group if it hangs."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def server_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        # Access logging would dominate a sub-millisecond request; both servers use it off.
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        LOG_FORMAT="json",
        MARKETPLACE_ENV="production",
        # Production refuses the development placeholders; nothing here reaches Stripe.
        STRIPE_API_KEY=os.environ.get("STRIPE_API_KEY") or "sk_test_bench_no_stripe_calls",
        STRIPE_WEBHOOK_SECRET=os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_bench_unused",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        # Every request still takes the limiter's round trip; a load test of one key is
        # far above a partner's limit and must not be measured answering 429.
        RATE_LIMIT_PER_KEY="1000000000",
        RATE_LIMIT_PER_ADDRESS="1000000000",
    )
    env.update(extra)
    return env


def api_server(
    database_url: str,
    redis_url: str,
    *,
    workers: int,
    log_name: str,
    server: str | None = None,
) -> ServerProcess:
    """The production server: `marketplace serve --port N --workers W` (with `--server S`
    when given: uvicorn or granian; else serve's default)."""
    port = free_port()
    return ServerProcess(
        [
            sys.executable,
            "-m",
            "marketplace.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *(["--server", server] if server else []),
        ],
        port=port,
        env=server_env(database_url, redis_url),
        ready_path="/readyz",
        log=LOGS_DIR / f"{log_name}.log",
    )


def floor_server(
    database_url: str, extra_env: dict[str, str], *, workers: int, log_name: str
) -> ServerProcess:
    """`bench.floor_app`: the same-work floor of the single-object reads."""
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "bench.floor_app", "--port", str(port), "--workers", str(workers)],
        port=port,
        env=server_env(database_url, "", **extra_env),
        ready_path="/ping",
        log=LOGS_DIR / f"{log_name}.log",
    )


def minimal_server(*, workers: int, log_name: str) -> ServerProcess:
    """`bench.minimal_app`: a bare Litestar app served by uvicorn the same way."""
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "bench.minimal_app", "--port", str(port), "--workers", str(workers)],
        port=port,
        env=server_env("", ""),
        ready_path="/ping",
        log=LOGS_DIR / f"{log_name}.log",
    )
