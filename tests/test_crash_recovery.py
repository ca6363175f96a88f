"""A process killed with SIGKILL mid-send loses nothing: real `pmo-bot tick` and `pmo-bot serve`
processes against the fake Slack, killed part way through a fan-out, then ticked again.

Each test prints what it measured (`pytest -s` shows it): messages Slack had accepted at the
kill, lost (a project with no message) and duplicated (a project with two). Duplicates are
only possible for sends in flight at the kill, Slack having accepted them before the dying
process could record it; the fan-out runs FANOUT_WORKERS sends at a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bot.demo.signed import slack_signature
from bot.services import live_services
from bot.services.access import Actor
from bot.services.live_services import NewService
from handlers.delivery import FANOUT_WORKERS
from storage.models import ServiceRelation
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, SIGNING_SECRET
from tests.factories import add_project

PROJECTS = 60
PROMPT_DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday 09:30 in Europe/London
WEBHOOK_SECRET = "crash-test-webhook-secret"


@pytest.fixture
def bot_env(fake_slack, database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": database_url,
        "PMO_CHANNEL_ID": PMO_CHANNEL,
        "PMO_ADMIN_IDS": PMO_ADMIN,
        "DIGEST_ENABLED": "false",
        "SCHEDULER_ENABLED": "false",
        "INCIDENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@pytest.fixture
def project_channels(fake_slack, session_factory) -> list[str]:
    channels = [f"C0P{number:03d}" for number in range(PROJECTS)]
    for number, channel in enumerate(channels):
        fake_slack.add_channel(channel, f"project-{number}")
        add_project(session_factory, f"P-{number}", f"Project {number}", channels=(channel,), created_at=NOW)
    return channels


def tick(env: dict[str, str], at: datetime) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "tick", "--at", at.isoformat()], env=env, check=True, capture_output=True
    )


def kill_when(process: subprocess.Popen, accepted: Callable[[], int], at_least: int, timeout: float = 60) -> int:
    """SIGKILL the process once Slack has accepted `at_least` messages; how many it had then."""
    deadline = time.monotonic() + timeout
    while accepted() < at_least:
        assert process.poll() is None, "the process ended before it could be killed mid-send"
        assert time.monotonic() < deadline, f"only {accepted()} messages within {timeout} s"
        time.sleep(0.02)  # polling another process's progress: there is nothing to wait on
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return accepted()


def top_level_counts(fake_slack, channels: list[str]) -> list[int]:
    return [
        len([message for message in fake_slack.messages_in(channel) if "thread_ts" not in message])
        for channel in channels
    ]


def test_a_tick_killed_mid_fan_out_loses_no_prompt(fake_slack, bot_env, project_channels):
    # Slow Slack down so the kill lands in the middle of the fan-out.
    fake_slack.set_rate_limit(overall_per_second=15)

    def prompts_accepted() -> int:
        return sum(top_level_counts(fake_slack, project_channels))

    running = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tick", "--at", PROMPT_DUE.isoformat()],
        env=bot_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    at_kill = kill_when(running, prompts_accepted, PROJECTS // 3)

    tick(bot_env, PROMPT_DUE)  # the same instant: prompts never claimed go out now
    tick(bot_env, PROMPT_DUE + timedelta(minutes=20))  # claims left unconfirmed have run out

    counts = top_level_counts(fake_slack, project_channels)
    lost, duplicated = counts.count(0), sum(count - 1 for count in counts if count > 1)
    print(f"\ntick SIGKILLed after {at_kill} of {PROJECTS} prompts: lost {lost}, duplicated {duplicated}")
    assert at_kill < PROJECTS
    assert lost == 0
    assert duplicated <= FANOUT_WORKERS


def test_serve_killed_mid_announcement_loses_no_impact_notice(
    fake_slack, bot_env, project_channels, session_factory, tmp_path
):
    with unit_of_work(session_factory) as session:
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        live_services.save_service(session, admin, NewService("PAY", "Payments platform"), now=NOW)
        for number in range(PROJECTS):
            live_services.set_related_services(session, admin, f"P-{number}", ServiceRelation.DEPENDS_ON, ["PAY"])
    fake_slack.set_rate_limit(overall_per_second=15)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env={**bot_env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(f"http://127.0.0.1:{port}/healthz", server)
        body = json.dumps(
            {
                "action": "trigger",
                "id": "alert-9",
                "service": "PAY",
                "severity": "SEV1",
                "summary": "Card payments down",
            }
        ).encode()
        sent_at = int(time.time())
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/incidents",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-PMO-Request-Timestamp": str(sent_at),
                "X-PMO-Signature": slack_signature(WEBHOOK_SECRET, sent_at, body),
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        at_kill = kill_when(server, lambda: sum(top_level_counts(fake_slack, project_channels)), PROJECTS // 3)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)

    later = datetime.now(timezone.utc) + timedelta(minutes=20)  # serve ran on the real clock
    tick(bot_env, later)

    counts = top_level_counts(fake_slack, project_channels)
    lost, duplicated = counts.count(0), sum(count - 1 for count in counts if count > 1)
    print(f"\nserve SIGKILLed after {at_kill} of {PROJECTS} notices: lost {lost}, duplicated {duplicated}")
    assert at_kill < PROJECTS
    assert lost == 0
    assert duplicated <= FANOUT_WORKERS


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "pmo-bot serve exited before it listened"
        try:
            httpx.get(url)
            return
        except httpx.ConnectError:
            time.sleep(0.1)  # still starting
    raise AssertionError("pmo-bot serve did not listen within 60 s")


def test_two_ticks_at_once_on_postgresql_run_the_jobs_in_one_of_them(fake_slack, bot_env, project_channels, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one instance: there is no second scheduler to keep out")
    fake_slack.set_rate_limit(overall_per_second=30)  # the first tick is still at work when the second starts

    ticks = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "tick", "--at", PROMPT_DUE.isoformat()],
            env={**bot_env, "LOG_LEVEL": "debug"},
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
    assert top_level_counts(fake_slack, project_channels) == [1] * PROJECTS
