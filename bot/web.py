"""Serving a WSGI app on every core: gunicorn's master forks `workers` processes with
`threads` request threads each, and exactly one of them runs the scheduler.

The master never builds the app: each worker builds its own after the fork (its own
engine and connection pool, no state shared across processes). Which worker runs the
scheduler is decided in the master before each fork: the first worker gets it, and if
that worker exits, the one forked to replace it takes it over, so scheduled work never
runs twice at once nor stops while the server is up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)

WsgiApp = Callable[..., Any]
# Builds the worker's app; told whether this worker is the one that runs the scheduler.
LoadApp = Callable[[bool], WsgiApp]


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, load_app: LoadApp, options: dict[str, Any], *, scheduler: bool) -> None:
        self._load_app = load_app
        self._options = options
        self._scheduler = scheduler
        self._scheduler_taken = False  # in the master: a live worker runs the scheduler
        self._runs_scheduler_here = False  # in a worker: this one does
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn's runtime control socket is one path per user: a second instance on the
            # host (or a test) would take it over. Nothing here uses it.
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("pre_fork", self._pre_fork)
        self.cfg.set("post_fork", self._post_fork)
        self.cfg.set("child_exit", self._child_exit)

    def _pre_fork(self, _arbiter: Any, worker: Any) -> None:
        worker.runs_scheduler = self._scheduler and not self._scheduler_taken
        self._scheduler_taken = self._scheduler_taken or worker.runs_scheduler

    def _post_fork(self, _arbiter: Any, worker: Any) -> None:
        self._runs_scheduler_here = worker.runs_scheduler
        if worker.runs_scheduler:
            log.info("worker %d runs the scheduler", worker.pid)

    def _child_exit(self, _arbiter: Any, worker: Any) -> None:
        if getattr(worker, "runs_scheduler", False):
            self._scheduler_taken = False

    def load(self) -> WsgiApp:
        # In the worker, after the fork and `_post_fork`.
        return self._load_app(self._runs_scheduler_here)


# glibc's mallopt parameter for the most malloc arenas a process keeps (malloc.h).
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def _limit_malloc_arenas() -> None:
    """Fewer malloc arenas, set in the master so every forked worker inherits it.

    glibc gives each thread that allocates under contention its own arena, up to eight per core,
    and keeps what each one grew to: with a dozen request and listener threads a worker's
    memory grew by tens of MB over a burst and never shrank. Two arenas cost nothing measurable
    here (the threads mostly wait on the GIL anyway). A C library without mallopt is left alone.
    """
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not mallopt(_M_ARENA_MAX, MALLOC_ARENAS):
        log.debug("malloc arenas left at the C library's default")


def serve_forked(
    load_app: LoadApp, *, port: int, workers: int, threads: int, scheduler: bool, host: str = "0.0.0.0"
) -> None:
    """Serve until stopped (SIGTERM/SIGINT): `workers` processes of `threads` threads on `port`."""
    _limit_malloc_arenas()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Slack retries an unanswered request after 3 s: a worker stuck far longer is replaced.
        "timeout": 60,
        "graceful_timeout": 10,
        # Idle keep-alive connections stay open longer than a load balancer keeps its own (60 s
        # on the common ones), so this side never closes one just as the other reuses it; that
        # race answers the request with a connection reset (gunicorn's default is 2 s).
        "keepalive": 75,
        "accesslog": None,
        "proc_name": "pmo-bot",
    }
    _Server(load_app, options, scheduler=scheduler).run()
