"""A Monday-morning burst of `/pmo status` against `pmo-bot serve`, side by side with a bare
Bolt app that only acks, both served the same way (the production configuration: gunicorn,
WEB_CONCURRENCY workers of WEB_THREADS threads) in the same run.

Seeds a portfolio (5,000 projects with 10 actions each and eight weeks of history by
default), starts the fake Slack Web API here, `pmo-bot serve` and the bare app as their own
processes, and sends to each:

1. `--requests` signed `/pmo status` from a PMO admin (the whole portfolio), `--concurrency`
   at a time;
2. the same number of mixed requests, as many at a time: `/pmo status`, `/pmo status KEY`,
   a click on the table's Next button, and an App Home opening.

Each app gets `--rounds` of both bursts, the two apps in turn, so both see the same load from
whatever else shares the machine; the ratio printed is the median round's (each round's too).
Prints ack p50/p99 (the HTTP answer, which Slack wants within 3 s) of both and their ratio,
the full-reply p99 of pmo-bot (command sent -> the table at the fake's response_url), and
the memory of the serving instance idle and at its peak during the burst (PSS summed over
the master and its workers, which counts the pages the forked workers share once; the
largest single RSS beside it).

    python bench/status.py                          # 5,000 projects, SQLite
    python bench/status.py --projects 50000         # the 50,000-project figure (seeding takes minutes)
    python bench/status.py --database-url postgresql://postgres@127.0.0.1/bench

Targets: ack p99 within 1.3x of the bare app; full reply p99 <= 500 ms at 5,000 projects
and within 2x of that at 50,000; serve under 150 MB idle and 250 MB during the burst.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench._common import chosen_database  # noqa: E402
from bench._common import parser as bench_parser  # noqa: E402
from bench.portfolio import PMO_ADMIN, TEAM_ID, seed  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.demo.signed import SignedRequests, slack_signature  # noqa: E402
from bot.services import health  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

SIGNING_SECRET = "bench"
WARM_UP = 10
TARGET_ACK_RATIO = 1.3
TARGET_REPLY_MS = 500.0
TARGET_IDLE_MB = 150.0
TARGET_PEAK_MB = 250.0


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the bare app: Bolt acking everything, served by the same server ----------------------


def serve_bare(port: int, api_url: str, token: str, workers: int, threads: int) -> None:
    """The floor: a Bolt app whose every listener only acks, behind bot/web.py's gunicorn."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    from bot import web

    def load(_runs_scheduler: bool) -> web.WsgiApp:
        app = App(
            client=WebClient(token=token, base_url=api_url),
            signing_secret=SIGNING_SECRET,
            token_verification_enabled=False,
        )
        app.command("/pmo")(lambda ack: ack())
        app.action(re.compile(".*"))(lambda ack: ack())
        app.event("app_home_opened")(lambda: None)
        return SlackRequestHandler(app)

    web.serve_forked(load, port=port, workers=workers, threads=threads, scheduler=False, host="127.0.0.1")


# --- memory -------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        pids += _tree(int(child))
    return pids


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


@dataclass
class Memory:
    pss_mb: float  # the instance: master + workers, shared pages counted once
    largest_rss_mb: float


def memory_of(pid: int) -> Memory:
    pids = _tree(pid)
    pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    rss = max(_kib(f"/proc/{p}/status", "VmRSS") for p in pids)
    return Memory(pss / 1024, rss / 1024)


class PeakMemory:
    """Samples the instance's memory every 50 ms while the burst runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = Memory(0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            now = memory_of(self.pid)
            self.peak = Memory(max(self.peak.pss_mb, now.pss_mb), max(self.peak.largest_rss_mb, now.largest_rss_mb))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the load -------------------------------------------------------------------------------


@dataclass
class Sample:
    ack_ms: float
    reply_ms: float | None  # None: no response_url reply to wait for (App Home, the bare app)


@dataclass
class Round:
    ours: list[Sample]
    bare: list[Sample]

    def ack_ratio(self) -> float:
        return percentile([s.ack_ms for s in self.ours], 0.99) / percentile([s.ack_ms for s in self.bare], 0.99)


class PooledSignedRequests(SignedRequests):
    """Signed requests over one pooled HTTP client: what the load generator costs stays small
    next to what it measures (a fresh client per request spends milliseconds of CPU on its own)."""

    def __init__(self, *args: object, connections: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.Client(limits=self.limits, timeout=30)

    def reconnect(self) -> None:
        """Fresh connections: gunicorn closes one left idle past its keep-alive (2 s), as each
        app's are while the other app takes its turn, and reusing it as it closes is a reset."""
        self.client.close()
        self.client = httpx.Client(limits=self.limits, timeout=30)

    def _post(
        self,
        content_type: str,
        body: bytes,
        *,
        signature: str | None,
        timestamp: int | None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(sent),
            "X-Slack-Signature": signature or slack_signature(self.signing_secret, sent, body),
            **(extra_headers or {}),
        }
        return self.client.post(self.app_url, content=body, headers=headers)


class Load:
    """Signed requests to one app; each request's response_url is known to the thread that sent it."""

    def __init__(self, url: str, fake: FakeSlack, *, waits_for_replies: bool, connections: int) -> None:
        self.slack = PooledSignedRequests(url, SIGNING_SECRET, fake, team_id=TEAM_ID, connections=connections)
        self.fake = fake
        self.waits_for_replies = waits_for_replies
        self._local = threading.local()
        issue = fake.new_response_url

        def remembered() -> str:
            self._local.url = issue()
            return self._local.url

        fake.new_response_url = remembered  # type: ignore[method-assign]
        self.table_message: dict | None = None

    def _timed(self, send: Callable[[], httpx.Response], *, replied: bool) -> Sample:
        sent = time.perf_counter()
        response = send()
        acked = time.perf_counter()
        if response.status_code != 200:
            raise SystemExit(f"a request was answered {response.status_code}: {response.text[:200]}")
        if not (replied and self.waits_for_replies):
            return Sample((acked - sent) * 1000, None)
        url = self._local.url
        self.fake.wait_until_answered(url, timeout=60)
        return Sample((acked - sent) * 1000, (time.perf_counter() - sent) * 1000)

    def last_response_url(self) -> str:
        return self._local.url

    def status(self, _n: int) -> Sample:
        return self._timed(lambda: self.slack.command("status", user_id=PMO_ADMIN, channel_id="C0PMO"), replied=True)

    def mixed(self, n: int) -> Sample:
        kind = n % 4
        if kind == 0:
            return self.status(n)
        if kind == 1:
            key = f"P-{(n * 37) % 1000:04d}"
            return self._timed(
                lambda: self.slack.command(f"status {key}", user_id=PMO_ADMIN, channel_id="C0PMO"), replied=True
            )
        if kind == 2:
            message = {"type": "message", "ts": "1700000000.000100", "blocks": self.table_message["blocks"]}  # type: ignore[index]
            return self._timed(
                lambda: self.slack.block_action(
                    "status_table.next", user_id=PMO_ADMIN, channel_id="C0PMO", message=message
                ),
                replied=True,
            )
        event = {"type": "app_home_opened", "user": PMO_ADMIN, "channel": "D0HOME", "tab": "home"}
        return self._timed(lambda: self.slack.event(event), replied=False)

    def burst(self, send: Callable[[int], Sample], requests: int, concurrency: int) -> list[Sample]:
        self.slack.reconnect()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, range(WARM_UP)))
            return list(pool.map(send, range(requests)))


def _wait_until_listening(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)  # still starting
    raise SystemExit(f"{process.args} did not start listening within 120 s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = bench_parser(__doc__, projects=5000)
    parser.add_argument("--actions-per-project", type=int, default=10)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="bursts of each kind per app, interleaved")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="WEB_CONCURRENCY (default: the cores)")
    parser.add_argument("--threads", type=int, default=8, help="WEB_THREADS")
    parser.add_argument("--listener-threads", type=int, default=4, help="LISTENER_THREADS")
    parser.add_argument("--serve-bare", nargs=3, metavar=("PORT", "API_URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        port, api_url, token = args.serve_bare
        serve_bare(int(port), api_url, token, args.workers, args.threads)
        return
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as scratch:
        database_url = chosen_database(args.database_url, scratch, "status")
        settings_url = load_settings(_env_file=None, database_url=database_url).database_url
        engine = make_engine(settings_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        started = time.perf_counter()
        portfolio = seed(session_factory, projects=args.projects, actions_per_project=args.actions_per_project)
        seeded_in = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # as autovacuum would have done after the history built up
        # The tick's daily pass, as it would have run before the first request of the day.
        started = time.perf_counter()
        settings = load_settings(_env_file=None, database_url=database_url)
        today = time_today(settings.default_timezone)
        with session_factory() as session:
            health.refresh(session, today=today, tolerance=settings.benefit_tolerance)
            session.commit()
        refreshed_in = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # As autovacuum does within a minute of the daily pass rewriting every summary row:
            # planner statistics for the rows as they now are, and a visibility map that lets the
            # count by colour read the index alone.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            fake.add_channel("C0PMO", "pmo")
            serve_port, bare_port = _free_port(), _free_port()
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": fake.bot_token,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake.url,
                "DATABASE_URL": database_url,
                "PMO_CHANNEL_ID": "C0PMO",
                "PMO_ADMIN_IDS": PMO_ADMIN,
                "PORT": str(serve_port),
                "WEB_CONCURRENCY": str(args.workers),
                "WEB_THREADS": str(args.threads),
                "LISTENER_THREADS": str(args.listener_threads),
                # The tick would send this portfolio's prompts and nudges during the burst.
                "SCHEDULER_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
            }
            serve = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=scratch)
            bare = subprocess.Popen(
                [sys.executable, __file__, "--workers", str(args.workers), "--threads", str(args.threads)]
                + ["--serve-bare", str(bare_port), fake.url, fake.bot_token],
                cwd=scratch,
            )
            try:
                _wait_until_listening(f"http://127.0.0.1:{serve_port}/healthz", serve)
                _wait_until_listening(f"http://127.0.0.1:{bare_port}/", bare)
                time.sleep(2)  # let the workers finish starting before measuring them idle
                idle = memory_of(serve.pid)
                pmo = Load(
                    f"http://127.0.0.1:{serve_port}/slack/events",
                    fake,
                    waits_for_replies=True,
                    connections=args.concurrency,
                )
                floor = Load(
                    f"http://127.0.0.1:{bare_port}/slack/events",
                    fake,
                    waits_for_replies=False,
                    connections=args.concurrency,
                )
                pmo.status(0)
                pmo.table_message = next(r for r in fake.responses if r["url"] == pmo.last_response_url())
                floor.table_message = pmo.table_message
                # Each round runs both apps' bursts back to back, so the two see the same load
                # from whatever else shares the machine; the median round is the figure.
                rounds: dict[str, list[Round]] = {"status": [], "mixed": []}
                with PeakMemory(serve.pid) as peak:
                    for _ in range(args.rounds):
                        for name in rounds:
                            ours = pmo.burst(getattr(pmo, name), args.requests, args.concurrency)
                            bare_samples = floor.burst(getattr(floor, name), args.requests, args.concurrency)
                            rounds[name].append(Round(ours, bare_samples))
            finally:
                _stop(serve)
                _stop(bare)

    print(f"machine:         {os.cpu_count()} cores, shared with other work while it ran")
    print(f"database:        {database_url.split(':', 1)[0]}")
    print(
        f"portfolio:       {portfolio.projects} projects, {portfolio.actions} actions "
        f"(seeded in {seeded_in:.0f} s; the daily pass computed the summary in {refreshed_in:.1f} s)"
    )
    print(
        f"served by:       gunicorn, {args.workers} workers x {args.threads} threads, both apps;"
        f" pmo-bot runs its listeners on {args.listener_threads} threads a worker"
    )
    print(
        f"load:            {args.rounds} rounds of {args.requests} requests per kind and app, "
        f"{args.concurrency} at a time (after {WARM_UP} to warm up), the two apps in turn"
    )
    for name, measured in rounds.items():
        ordered = sorted(measured, key=Round.ack_ratio)
        median = ordered[len(ordered) // 2]
        acks = [s.ack_ms for s in median.ours]
        floor_acks = [s.ack_ms for s in median.bare]
        print(
            f"{name + ':':<17}ack p50 {percentile(acks, 0.5):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms; "
            f"bare Bolt p50 {percentile(floor_acks, 0.5):.1f} ms, p99 {percentile(floor_acks, 0.99):.1f} ms; "
            f"ratio {median.ack_ratio():.2f} (target <= {TARGET_ACK_RATIO}; the median of "
            f"{', '.join(f'{r.ack_ratio():.2f}' for r in measured)})"
        )
        replies = [s.reply_ms for r in measured for s in r.ours if s.reply_ms is not None]
        print(
            f"{'':<17}full reply p50 {percentile(replies, 0.5):.0f} ms, "
            f"p99 {percentile(replies, 0.99):.0f} ms over all rounds (target <= {TARGET_REPLY_MS:.0f})"
        )
    print(
        f"memory (serve):  idle {idle.pss_mb:.0f} MB PSS (largest process {idle.largest_rss_mb:.0f} MB RSS), "
        f"peak {peak.peak.pss_mb:.0f} MB PSS ({peak.peak.largest_rss_mb:.0f} MB RSS)  "
        f"(targets {TARGET_IDLE_MB:.0f} / {TARGET_PEAK_MB:.0f})"
    )


def time_today(zone: str) -> date:
    """Today in the workspace's timezone, as `pmo-bot serve` (on the real clock) sees it."""
    return datetime.now(timezone.utc).astimezone(ZoneInfo(zone)).date()


if __name__ == "__main__":
    main()
