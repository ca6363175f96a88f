"""`pmo-bot demo` without a browser: the command's safety rules, and the page's API doors.

The page's API is what the browser calls; each call becomes a signed Slack request to the
real bot, whose Web API calls land in the demo's fake Slack. These tests use that API as the
page does and look at what a person would see (the JSON the page renders) or at the database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine, select

from bot.demo import seed
from bot.demo.server import BANNER, RunningDemo, running_demo
from storage.models import Checkin, Project
from storage.session import unit_of_work

START = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # a Monday, 09:30 in London (GMT)
STARTUP_SECONDS = 90  # a shared, loaded machine
T = TypeVar("T")


def _wait_until(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def demo(engine: Engine, database_url: str) -> Iterator[RunningDemo]:
    with running_demo(database_url, start=START) as running:
        yield running


def _state(demo: RunningDemo, user: seed.DemoPerson, channel_id: str) -> dict[str, Any]:
    return httpx.get(f"{demo.url}/api/state", params={"user": user.user_id, "channel": channel_id}).json()


def _post(demo: RunningDemo, name: str, user: seed.DemoPerson, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{demo.url}/api/{name}", json={"user": user.user_id, **body}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _texts(state: dict[str, Any]) -> list[str]:
    return [message.get("text") or "" for message in state["messages"]]


# --- the command ------------------------------------------------------------------------


def _demo_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return env | overrides


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx", "SLACK_BOT_TOKEN looks like a real"),
        ("DATABASE_URL", "postgresql://pmo@db.internal:5432/pmo", "DATABASE_URL points at PostgreSQL"),
    ],
)
def test_demo_refuses_to_start_in_a_production_shell_unless_given_its_own_database(
    tmp_path: Path, name: str, value: str, said: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--port", "0"],
        cwd=tmp_path,
        env=_demo_env(tmp_path, **{name: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert said in result.stderr and "pmo-bot demo --db demo.sqlite3" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing created


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_demo_command_serves_the_workspace_on_loopback_only(tmp_path: Path) -> None:
    port = _free_port()
    real_looking = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--db", str(tmp_path / "demo.sqlite3")],
        cwd=tmp_path,
        env=_demo_env(tmp_path, SLACK_BOT_TOKEN=real_looking, LOG_LEVEL="WARNING"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        output = ""
        while f"Open http://127.0.0.1:{port}/" not in output:
            line = process.stdout.readline()
            assert line and time.monotonic() < deadline, f"the demo did not start:\n{output}"
            output += line
        assert BANNER in output

        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and BANNER in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok\n"
        # Bound to 127.0.0.1 itself: another address, even on this machine, finds nothing listening.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/", timeout=5)
        # The bot checks Slack's signature on the demo's requests as it does in production.
        assert httpx.post(f"http://127.0.0.1:{port}/slack/events", data={"command": "/pmo"}).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- the workspace ----------------------------------------------------------------------


def test_demo_opens_on_a_seeded_portfolio_with_prompts_posted(demo: RunningDemo, session_factory) -> None:
    with unit_of_work(session_factory) as session:
        projects = session.scalars(select(Project)).all()
        assert len(projects) == 10
        assert len({p.programme.name for p in projects}) == 3 and len({p.objective.name for p in projects}) == 2

    state = _state(demo, seed.LEAD_ONE, "C0CRM2")

    assert state["banner"] == BANNER and state["now_text"] == "Mon 23 Nov 2026, 09:30 (Europe/London)"
    assert [p["name"] for p in state["people"]] == [p.name for p in seed.PEOPLE]
    assert {c["name"] for c in state["channels"]} == {"pmo"} | {p.key.lower() for p in seed.PROJECTS}
    assert "CRM-2: weekly check-in for 2026-W48" in _texts(state)
    assert any("SEV2 on Council website" in text for text in _texts(_state(demo, seed.PMO_ADMIN, "C0PMO")))


def test_an_ephemeral_reply_is_shown_only_to_the_person_who_asked(demo: RunningDemo) -> None:
    _post(demo, "command", seed.SPONSOR_DIGITAL, channel_id="C0CRM2", text="/pmo status")

    mine = _wait_until(
        lambda: [m for m in _state(demo, seed.SPONSOR_DIGITAL, "C0CRM2")["messages"] if m.get("ephemeral")],
        "no ephemeral status table",
    )
    # In a linked channel `/pmo status` means that channel's project.
    assert mine[0]["text"].startswith("CRM-2 · Customer records")
    assert not [m for m in _state(demo, seed.SPONSOR_PLACE, "C0CRM2")["messages"] if m.get("ephemeral")]


def test_an_unknown_command_is_answered_as_slack_does(demo: RunningDemo) -> None:
    answer = _post(demo, "command", seed.LEAD_ONE, channel_id="C0CRM2", text="/standup today")

    assert answer == {"ok": False, "error": "/standup is not a valid command. This workspace has /pmo."}


def test_the_bot_acts_at_the_simulated_time_after_the_clock_moves_on(demo: RunningDemo, session_factory) -> None:
    moved = _post(demo, "clock", seed.LEAD_ONE, step="week")
    assert moved["now"] == "2026-11-30T09:30:00+00:00"
    prompt = _wait_until(
        lambda: [
            m
            for m in _state(demo, seed.LEAD_ONE, "C0CRM2")["messages"]
            if "2026-W49" in (m.get("text") or "") and m["user"] == "U0BOT"
        ],
        "no prompt for the new week",
    )[0]

    _post(demo, "action", seed.LEAD_ONE, channel_id="C0CRM2", message_ts=prompt["ts"], action_id="checkin.submit")
    modal = _wait_until(lambda: _state(demo, seed.LEAD_ONE, "C0CRM2")["modal"], "the check-in form did not open")
    green = {"text": {"type": "plain_text", "text": "Green"}, "value": "green"}
    answer = _post(
        demo,
        "submit",
        seed.LEAD_ONE,
        view_id=modal["id"],
        values={"overall": {"overall": {"type": "static_select", "selected_option": green}}},
    )

    assert answer == {"ok": True}
    assert _state(demo, seed.LEAD_ONE, "C0CRM2")["modal"] is None  # closed, as Slack closes a form on success
    with unit_of_work(session_factory) as session:
        latest = session.scalars(select(Checkin).order_by(Checkin.id.desc()).limit(1)).one()
        assert (latest.period, latest.submitted_at) == ("2026-W49", datetime(2026, 11, 30, 9, 30, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("step", "then"),
    [
        ("checkin", "2026-11-30T09:30:00+00:00"),  # every demo project checks in on Mondays at 09:30
        ("workday", "2026-11-24T09:30:00+00:00"),
        ("hour", "2026-11-23T10:30:00+00:00"),
        ("week", "2026-11-30T09:30:00+00:00"),
    ],
)
def test_each_clock_button_moves_the_simulated_time_to_its_instant(demo: RunningDemo, step: str, then: str) -> None:
    assert _post(demo, "clock", seed.PMO_ADMIN, step=step) == {"ok": True, "now": then}
    assert _state(demo, seed.PMO_ADMIN, seed.PMO_CHANNEL)["now"] == then


def test_next_working_day_skips_the_weekend(demo: RunningDemo) -> None:
    demo.demo.tick(datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc))  # a Friday afternoon

    assert _post(demo, "clock", seed.PMO_ADMIN, step="workday")["now"] == "2026-11-30T09:30:00+00:00"


def test_demo_says_which_port_is_taken_instead_of_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--db", str(tmp_path / "demo.sqlite3")],
            cwd=tmp_path,
            env=_demo_env(tmp_path, LOG_LEVEL="WARNING"),
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )

    assert result.returncode == 2
    assert f"port {port} is in use on 127.0.0.1; choose another with --port" in result.stderr
    assert "Traceback" not in result.stderr
