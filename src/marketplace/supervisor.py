"""Keeps one child process running: `marketplace serve --with-worker`'s background worker.

The worker survives Redis outages by itself (`marketplace.worker`), but a process can
still die (killed, out of memory, a bug at start-up); with nobody to start it again no
event, cron, refund or settlement would run while the API kept answering. The supervisor
starts it again, after a backoff that grows while it keeps dying young (so a worker that
can't start doesn't spin), and stops it with SIGTERM when told to.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence

import structlog

log = structlog.get_logger(__name__)

# A child that ran this long before dying was healthy: its next start isn't delayed.
HEALTHY_RUN_SECONDS = 60.0


def restart_delay(quick_deaths: int, *, first: float = 0.5, most: float = 30.0) -> float:
    """Seconds before the next start after `quick_deaths` deaths in a row: 0.5, 1, 2, … 30."""
    if quick_deaths <= 0:
        return 0.0
    return float(min(most, first * 2 ** (quick_deaths - 1)))


class ProcessSupervisor:
    """Runs `argv` in a thread of its own: start, wait, start again, until `stop()`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str = "worker",
        preexec_fn: Callable[[], None] | None = None,
        stop_timeout: float = 20.0,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.preexec_fn = preexec_fn
        self.stop_timeout = stop_timeout
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            # Started from this thread, which lives as long as it supervises: the
            # child's parent-death signal (PR_SET_PDEATHSIG) follows the thread.
            self._proc = subprocess.Popen(self.argv, preexec_fn=self.preexec_fn)  # noqa: S603
            self.starts += 1
            return self._proc

    def _run(self) -> None:
        quick_deaths = 0
        while True:
            proc = self._spawn()
            if proc is None:
                return
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            quick_deaths = (
                0 if time.monotonic() - started >= HEALTHY_RUN_SECONDS else quick_deaths + 1
            )
            delay = restart_delay(max(1, quick_deaths))
            log.warning(f"{self.name}_exited", exit_code=code, restart_in=delay, starts=self.starts)
            if self._stopping.wait(delay):
                return

    def stop(self) -> None:
        """SIGTERM the child (SIGKILL if it outlives `stop_timeout`) and stop restarting."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
