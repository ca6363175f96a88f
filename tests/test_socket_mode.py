"""`pmo-bot socket` against a local server speaking Slack's Socket Mode protocol.

The real CLI runs as a subprocess. It asks the fake Slack's apps.connections.open (with the
app-level token) for a URL, which points at `SocketModeServer`: that says hello, delivers
envelopes and times each ack, and, like Slack every few hours, asks the app to reconnect
(`disconnect`, reason refresh_requested), keeping the old connection open a few seconds.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.server import ServerConnection, serve

from tests.conftest import TEAM_ID
from tests.factories import LEAD

ACK_LIMIT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 60.0  # the subprocess imports the whole app first


class SocketModeServer:
    def __init__(self) -> None:
        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode", daemon=True)
        self.connections: queue.Queue[ServerConnection] = queue.Queue()
        self._sent_at: dict[str, float] = {}
        self._acks: dict[str, list[float]] = {}
        self._cond = threading.Condition()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={uuid.uuid4().hex}"

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKEAPP"}}))
        self.connections.put(connection)
        for message in connection:
            envelope_id = json.loads(message).get("envelope_id")
            with self._cond:
                self._acks.setdefault(envelope_id, []).append(time.monotonic())
                self._cond.notify_all()

    def next_connection(self) -> ServerConnection:
        return self.connections.get(timeout=CONNECT_TIMEOUT_SECONDS)

    def deliver(self, connection: ServerConnection, kind: str, payload: dict[str, Any]) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        with self._cond:
            self._sent_at[envelope_id] = time.monotonic()
        connection.send(json.dumps(envelope))
        return envelope_id

    def ack_delay(self, envelope_id: str, *, timeout: float = 10.0) -> float:
        """Seconds from delivery to the app's ack (waits for it, up to `timeout`)."""
        with self._cond:
            self._cond.wait_for(lambda: envelope_id in self._acks, timeout=timeout)
            assert envelope_id in self._acks, f"envelope {envelope_id} never acked"
            return self._acks[envelope_id][0] - self._sent_at[envelope_id]

    def ack_counts(self) -> list[int]:
        with self._cond:
            return [len(self._acks.get(envelope_id, [])) for envelope_id in self._sent_at]


@pytest.fixture
def socket_mode(fake_slack) -> Iterator[SocketModeServer]:
    with SocketModeServer() as server:
        fake_slack.socket_mode_url = server.url
        yield server


@pytest.fixture
def pmo_bot_socket(tmp_path: Path, fake_slack, socket_mode) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_APP_TOKEN": fake_slack.app_token,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'socket.sqlite3'}",
        "SCHEDULER_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket"], env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    yield process
    process.terminate()
    process.wait(timeout=10)


def help_command(fake_slack) -> dict[str, Any]:
    return {
        "team_id": TEAM_ID,
        "channel_id": "C0PMO",
        "channel_name": "pmo",
        "user_id": LEAD,
        "user_name": "lead",
        "command": "/pmo",
        "text": "help",
        "api_app_id": fake_slack.app_id,
        "response_url": fake_slack.new_response_url(),
        "trigger_id": fake_slack.new_trigger_id(),
    }


def home_opened(fake_slack, user_id: str) -> dict[str, Any]:
    return {
        "team_id": TEAM_ID,
        "api_app_id": fake_slack.app_id,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home"},
        "authorizations": [{"team_id": TEAM_ID, "user_id": fake_slack.bot_user_id, "is_bot": True}],
    }


def test_every_envelope_is_acked_within_a_second_through_a_connection_refresh(fake_slack, socket_mode, pmo_bot_socket):
    users = ["U0FIRST", "U0SECOND"]
    for user_id in users:
        fake_slack.add_user(user_id)
    first = socket_mode.next_connection()
    commands = [help_command(fake_slack) for _ in range(2)]

    before = [
        socket_mode.deliver(first, "slash_commands", commands[0]),
        socket_mode.deliver(first, "events_api", home_opened(fake_slack, users[0])),
    ]
    delays = [socket_mode.ack_delay(envelope_id) for envelope_id in before]
    first.send(json.dumps({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "local"}}))
    second = socket_mode.next_connection()  # the app reconnects and gets a new hello
    after = [
        socket_mode.deliver(second, "slash_commands", commands[1]),
        socket_mode.deliver(second, "events_api", home_opened(fake_slack, users[1])),
    ]
    delays += [socket_mode.ack_delay(envelope_id) for envelope_id in after]
    first.close()  # Slack drops the old connection a few seconds after the refresh

    assert max(delays) < ACK_LIMIT_SECONDS, delays
    assert socket_mode.ack_counts() == [1, 1, 1, 1]
    for command in commands:  # one reply per command, none lost or doubled by the refresh
        reply = fake_slack.wait_for_response(lambda response, url=command["response_url"]: response["url"] == url)
        assert "help" in reply["text"].lower()
    for user_id in users:
        fake_slack.wait_for("views.publish", lambda call, user_id=user_id: call.args["user_id"] == user_id)
    assert len([r for r in fake_slack.responses if r["url"] in {c["response_url"] for c in commands}]) == 2
    assert sorted(call.args["user_id"] for call in fake_slack.calls_to("views.publish")) == users
