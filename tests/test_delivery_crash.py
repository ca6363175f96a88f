"""Nothing lost across a crash: real `pmo-bot` processes killed with SIGKILL mid-fan-out.

The fake Slack answers slowly, so a kill lands while sends are in flight. A send Slack
accepted whose answer was never recorded may be sent again (at most the sends in flight at
the kill); a claimed message whose sender died is taken over once its lease expires; one
never claimed is sent by the next tick. Run on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from bot.services.outbox import LEASE
from handlers.delivery import FANOUT_WORKERS
from storage.models import (
    ChannelLink,
    DeliveryStatus,
    OutgoingMessage,
    Person,
    Project,
    ProjectService,
    ProjectStatus,
    Service,
    ServiceRelation,
)
from tests.conftest import PMO_CHANNEL, SIGNING_SECRET, TEAM_ID

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday 09:30 Europe/London, the default cadence
LATENCY = 0.1  # seconds Slack takes per chat.postMessage: 8 fan-out workers send about 80 a second
WEBHOOK_SECRET = "crash-test-webhook-secret"
PROJECTS_PER_SPONSOR = 20


def _channel(n: int) -> str:
    return f"C{n:07d}"


def _seed(session_factory, projects: int, *, created: datetime, sponsors: bool = False) -> None:
    """Bulk insert, as the benchmarks do: projects with a primary channel, depending on PAY."""
    with session_factory() as session:
        sponsor_ids: dict[str, int] = {}
        if sponsors:
            session.execute(
                insert(Person),
                [
                    {"slack_user_id": f"U0SPONSOR{n}", "created_at": created}
                    for n in range(projects // PROJECTS_PER_SPONSOR)
                ],
            )
            sponsor_ids = dict(session.execute(select(Person.slack_user_id, Person.id)).all())
        session.execute(
            insert(Project),
            [
                {
                    "key": f"P-{n}",
                    "name": f"Project {n}",
                    "status": ProjectStatus.ACTIVE,
                    "sponsor_id": sponsor_ids.get(f"U0SPONSOR{n // PROJECTS_PER_SPONSOR}"),
                    "created_at": created,
                    "updated_at": created,
                }
                for n in range(projects)
            ],
        )
        ids = dict(session.execute(select(Project.key, Project.id)).all())
        session.execute(
            insert(ChannelLink),
            [
                {
                    "team_id": TEAM_ID,
                    "channel_id": _channel(n),
                    "project_id": ids[f"P-{n}"],
                    "is_primary": True,
                    "created_at": created,
                }
                for n in range(projects)
            ],
        )
        service = Service(key="PAY", name="Payments platform", created_at=created)
        session.add(service)
        session.flush()
        session.execute(
            insert(ProjectService),
            [
                {"project_id": ids[f"P-{n}"], "service_id": service.id, "relation": ServiceRelation.DEPENDS_ON}
                for n in range(projects)
            ],
        )
        session.commit()


@pytest.fixture
def env(tmp_path: Path, fake_slack, database_url: str) -> dict[str, str]:
    """What a `pmo-bot` process needs: the test database, the fake Slack (slowed down)."""
    fake_slack.set_latency("chat.postMessage", LATENCY)
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": database_url,
        "PMO_CHANNEL_ID": PMO_CHANNEL,
        "DIGEST_ENABLED": "false",
        "SCHEDULER_ENABLED": "false",
        "INCIDENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SLACK_MESSAGES_PER_SECOND": "1000",  # the fake's latency sets the pace, not the bot
        "LOG_LEVEL": "warning",
    }


def _tick(env: dict[str, str], at: datetime, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tick", "--at", at.isoformat()],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def _kill_when(process: subprocess.Popen, fake_slack, session_factory, *, posted: int, timeout: float = 60) -> int:
    """SIGKILL `process` once Slack accepted `posted` messages; the sends in flight at the kill:
    claimed in the ledger, Slack's answer not recorded (some of them Slack had accepted)."""
    deadline = time.monotonic() + timeout
    while len(fake_slack.ok_calls_to("chat.postMessage")) < posted:
        assert process.poll() is None, "the process ended before the kill"
        assert time.monotonic() < deadline, "too few messages posted before the kill"
        time.sleep(0.01)  # polling a child process; there is nothing to wait on
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with session_factory() as session:
        return session.scalar(
            select(func.count()).select_from(OutgoingMessage).where(OutgoingMessage.status == DeliveryStatus.PENDING)
        )


def _per_channel(fake_slack, channels: list[str], marker: str) -> Counter[str]:
    return Counter(
        {channel: sum(marker in message["text"] for message in fake_slack.messages_in(channel)) for channel in channels}
    )


def _report(what: str, counts: Counter[str], in_flight: int) -> tuple[int, int]:
    lost = sum(1 for n in counts.values() if n == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    print(f"\n{what}: {len(counts)} channels, lost {lost}, duplicated {duplicated}, in flight at the kill {in_flight}")
    return lost, duplicated


def test_a_tick_killed_mid_fan_out_loses_no_prompt(env, fake_slack, session_factory, database_url, tmp_path):
    projects = 200
    _seed(session_factory, projects, created=DUE - timedelta(days=7))
    channels = [_channel(n) for n in range(projects)]
    for channel in channels:
        fake_slack.add_channel(channel, channel.lower())

    tick = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tick", "--at", DUE.isoformat()],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    in_flight = _kill_when(tick, fake_slack, session_factory, posted=60)
    sent_before_restart = _per_channel(fake_slack, channels, "weekly check-in")
    _tick(env, DUE, tmp_path)  # the same instant: the dead tick's claims are still leased
    later = _tick(env, DUE + LEASE + timedelta(minutes=1), tmp_path)

    counts = _per_channel(fake_slack, channels, "weekly check-in")
    lost, duplicated = _report(f"tick killed mid fan-out ({database_url.split(':')[0]})", counts, in_flight)
    assert 0 < sum(sent_before_restart.values()) < projects  # the kill did land part way
    assert lost == 0
    assert duplicated <= in_flight
    assert in_flight <= FANOUT_WORKERS  # claimed just before sending: the window is a send per worker
    if in_flight:
        assert "taking over checkin-prompt:" in later.stderr
    with session_factory() as session:
        statuses = Counter(session.scalars(select(OutgoingMessage.status)))
    assert statuses == {DeliveryStatus.SENT: projects}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signed_post(url: str, event: dict) -> httpx.Response:
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(WEBHOOK_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "X-PMO-Request-Timestamp": timestamp,
        "X-PMO-Signature": f"v0={digest.hexdigest()}",
        "Content-Type": "application/json",
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


def _start_serve(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env={**env, "PORT": str(port)},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "pmo-bot serve exited"
        try:
            httpx.get(f"{base}/healthz")
            return server, base
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "pmo-bot serve did not start listening"
            time.sleep(0.1)  # still starting


def test_serve_killed_mid_announcement_loses_no_impact_notice(env, fake_slack, session_factory, database_url, tmp_path):
    projects = 200
    # Created now, so no check-in prompt is due when the tick runs after the crash.
    now = datetime.now(timezone.utc)
    _seed(session_factory, projects, created=now, sponsors=True)
    channels = [_channel(n) for n in range(projects)]
    for channel in channels:
        fake_slack.add_channel(channel, channel.lower())
    for n in range(projects // PROJECTS_PER_SPONSOR):
        fake_slack.add_user(f"U0SPONSOR{n}")

    server, base = _start_serve(env, tmp_path)
    try:
        answer = _signed_post(
            f"{base}/webhooks/incidents",
            {
                "action": "trigger",
                "id": "alert-9",
                "service": "PAY",
                "severity": "SEV1",
                "summary": "Card payments failing",
            },
        )
        assert answer.status_code == 200, answer.text
        in_flight = _kill_when(server, fake_slack, session_factory, posted=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    incident_key = answer.json()["incident"]
    _tick(env, now + LEASE + timedelta(minutes=1), tmp_path)

    counts = _per_channel(fake_slack, channels, f"{incident_key}")
    lost, duplicated = _report(f"serve killed mid announcement ({database_url.split(':')[0]})", counts, in_flight)
    assert lost == 0
    assert duplicated <= in_flight
    sponsors = _per_channel(
        fake_slack, [f"U0SPONSOR{n}" for n in range(projects // PROJECTS_PER_SPONSOR)], incident_key
    )
    assert set(sponsors.values()) == {1} or sum(n - 1 for n in sponsors.values() if n > 1) <= in_flight
    assert min(sponsors.values()) == 1
    summaries = [m for m in fake_slack.messages_in(PMO_CHANNEL) if incident_key in m["text"]]
    assert len(summaries) == 1
    with session_factory() as session:
        statuses = Counter(session.scalars(select(OutgoingMessage.status)))
    assert set(statuses) == {DeliveryStatus.SENT}


def test_two_ticks_at_once_on_postgresql_run_the_jobs_in_one_of_them(
    env, fake_slack, session_factory, engine, database_url, tmp_path
):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one instance: there is no second scheduler to keep out")
    projects = 120
    _seed(session_factory, projects, created=DUE - timedelta(days=7))
    channels = [_channel(n) for n in range(projects)]
    for channel in channels:
        fake_slack.add_channel(channel, channel.lower())

    ticks = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "tick", "--at", DUE.isoformat()],
            env={**env, "LOG_LEVEL": "debug"},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs = [tick.communicate(timeout=120)[1] for tick in ticks]

    assert [tick.returncode for tick in ticks] == [0, 0]
    skipped = ["another instance is running the scheduled work" in log for log in logs]
    assert sorted(skipped) == [False, True]
    assert set(_per_channel(fake_slack, channels, "weekly check-in").values()) == {1}
    # The instance that skipped asked Slack nothing: its jobs did not run at all.
    assert "api.slack.com" not in logs[skipped.index(True)] and "chat.postMessage" not in logs[skipped.index(True)]
