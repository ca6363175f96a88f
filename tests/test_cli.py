"""The `pmo-bot` command line: settings errors, tick, migrations, import and export."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command

from bot.cli import main
from bot.demo.signed import SignedRequests
from storage.session import SchemaState, alembic_config, make_engine, schema_state, upgrade_to_head
from tests.conftest import SIGNING_SECRET, TEAM_ID


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_slack) -> Path:
    """A working directory with no .env, a fresh SQLite file, and Slack pointed at the fake."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def run_cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0)


def test_help_works_without_any_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, cwd=tmp_path, env={}
    )

    assert result.returncode == 0
    for name in ("serve", "socket", "tick", "db", "import", "export"):
        assert name in result.stdout


def test_bad_settings_give_one_line_each_and_no_traceback(tmp_path):
    env = {"DEFAULT_TIMEZONE": "Mars/Olympus", "PORT": "not-a-port", "PATH": "/usr/bin:/bin"}

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tick"], capture_output=True, text=True, cwd=tmp_path, env=env
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "DEFAULT_TIMEZONE: 'Mars/Olympus' is not an IANA timezone name" in lines[0]
    assert lines[1].startswith("pmo-bot: configuration: PORT:")


def test_a_missing_token_is_named(cli_env, monkeypatch, capsys):
    monkeypatch.delenv("SLACK_BOT_TOKEN")

    assert run_cli("tick") == 2
    assert capsys.readouterr().err.strip() == (
        "pmo-bot: configuration: SLACK_BOT_TOKEN: not set (set it in the environment or in .env)"
    )


def test_tick_creates_the_schema_on_an_empty_database_and_takes_an_instant(cli_env, capsys):
    assert run_cli("tick", "--at", "2026-11-23T09:30") == 0

    assert "tick done for 2026-11-23T09:30:00+00:00" in capsys.readouterr().out
    assert schema_state(make_engine(f"sqlite:///{cli_env / 'cli.sqlite3'}")) is SchemaState.CURRENT


def test_tick_rejects_a_malformed_instant(cli_env, capsys):
    assert run_cli("tick", "--at", "next tuesday") == 2
    assert "is not an ISO-8601 instant" in capsys.readouterr().err


def test_pending_migrations_refuse_to_start_until_db_upgrade(cli_env, monkeypatch, capsys):
    engine = make_engine(f"sqlite:///{cli_env / 'cli.sqlite3'}")
    upgrade_to_head(engine)
    command.downgrade(alembic_config(engine), "base")  # an old database: migrations pending

    assert run_cli("tick") == 2
    assert "run `pmo-bot db upgrade`" in capsys.readouterr().err

    assert run_cli("db", "upgrade") == 0
    assert run_cli("tick") == 0


def test_auto_migrate_upgrades_a_pending_database(cli_env, monkeypatch):
    engine = make_engine(f"sqlite:///{cli_env / 'cli.sqlite3'}")
    upgrade_to_head(engine)
    command.downgrade(alembic_config(engine), "base")
    monkeypatch.setenv("AUTO_MIGRATE", "true")

    assert run_cli("tick") == 0
    assert schema_state(engine) is SchemaState.CURRENT


PORTFOLIO = (
    "key,name,programme,objective,sponsor,lead,services,channel,checkin_day,checkin_time,timezone,status\n"
    "CRM-2,Customer records,Digital,Better services online,sponsor@council.example,U0LEAD,CRM;WEB,C0CRM,"
    "Tuesday,10:00,Europe/London,active\n"
    "HR-1,HR system,,,,,,,,,,\n"
)


def test_import_then_export_round_trips_through_slack_lookups(cli_env, fake_slack, capsys):
    fake_slack.add_user("U0SPONSOR", email="sponsor@council.example")
    (cli_env / "in.csv").write_text(PORTFOLIO)

    assert run_cli("import", "in.csv") == 0
    assert run_cli("export", "out.csv") == 0
    assert run_cli("import", "out.csv") == 0

    out = capsys.readouterr().out
    assert "2 created, 0 updated, 0 unchanged" in out and "0 created, 0 updated, 2 unchanged" in out
    exported = (cli_env / "out.csv").read_text().splitlines()
    # The sponsor was named by email and the lead by user ID: each comes back as it was written.
    assert exported[1].startswith(
        "CRM-2,Customer records,Digital,Better services online,sponsor@council.example,U0LEAD,"
    )
    assert fake_slack.ok_calls_to("users.lookupByEmail")[0].args["email"] == "sponsor@council.example"


def test_a_bad_file_imports_nothing_and_names_each_bad_line(cli_env, capsys):
    (cli_env / "bad.csv").write_text(
        "key,name,programme,objective,sponsor,lead,services,channel,checkin_day,checkin_time,timezone,status\n"
        "OK-1,Fine,,,,,,,,,,\n"
        "BAD-1,Bad day,,,,,,,funday,,,\n"
        ",No key,,,,,,,,,,\n"
        "BAD-2,Bad status,,,,,,,,,,finished\n"
    )

    assert run_cli("import", "bad.csv") == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    assert "line 3:" in err and "line 4:" in err and "line 5:" in err and "line 2:" not in err

    assert run_cli("export", "after.csv") == 0
    assert (cli_env / "after.csv").read_text().count("\n") == 1  # the header only: OK-1 was not imported


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_health_checks_and_slack_on_one_port(cli_env, fake_slack):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "SCHEDULER_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=cli_env, stderr=subprocess.PIPE)
    try:
        health = _wait_until_listening(f"http://127.0.0.1:{port}/healthz", server)
        unsigned = httpx.post(f"http://127.0.0.1:{port}/slack/events", data={"command": "/pmo", "text": "help"})
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert health.status_code == 200
    assert unsigned.status_code == 401
    assert "will be unused" not in (server.stderr.read().decode() if server.stderr else "")


def _serve_until_it_exits(cli_env: Path, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORT": str(_free_port()), "SCHEDULER_ENABLED": "false", **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=cli_env, capture_output=True, text=True, timeout=60
    )


def test_serve_with_a_placeholder_token_says_slack_rejected_it_in_one_line(cli_env):
    result = _serve_until_it_exits(cli_env, SLACK_BOT_TOKEN="xoxb-your-bot-token")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("pmo-bot: Slack rejected SLACK_BOT_TOKEN (invalid_auth): copy the Bot User")
    assert "xoxb-your-bot-token" not in result.stderr


def test_serve_when_slack_cannot_be_reached_names_the_url_in_one_line(cli_env):
    closed = f"http://127.0.0.1:{_free_port()}/api/"

    result = _serve_until_it_exits(cli_env, SLACK_API_URL=closed)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"pmo-bot: could not reach Slack at SLACK_API_URL={closed}")


def _wait_until_listening(url: str, server: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"pmo-bot serve exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            return httpx.get(url)
        except httpx.ConnectError:
            time.sleep(0.1)  # the process is still starting; nothing else to wait on
    raise AssertionError("pmo-bot serve did not start listening within 60 s")


def test_socket_mode_needs_the_app_token(cli_env, capsys):
    assert run_cli("socket") == 2
    assert "SLACK_APP_TOKEN: not set" in capsys.readouterr().err


def test_sync_needs_a_source_url(cli_env, capsys):
    assert run_cli("sync") == 2
    assert "PORTFOLIO_SOURCE_URL: not set" in capsys.readouterr().err


FORMULA_NAMES = ['=HYPERLINK("https://evil","x")', "+SUM(1,1)", "-2+3", "@SUM(A1:A2)", "-5"]


def test_export_quotes_cells_a_spreadsheet_would_run_and_import_takes_the_quote_off(cli_env, capsys):
    rows = "".join(
        f'F-{number},"{name.replace(chr(34), chr(34) * 2)}",,,,,,,,,,\n' for number, name in enumerate(FORMULA_NAMES)
    )
    (cli_env / "in.csv").write_text(PORTFOLIO.splitlines(keepends=True)[0] + rows)

    assert run_cli("import", "in.csv") == 0
    assert run_cli("export", "out.csv") == 0
    assert run_cli("import", "out.csv") == 0

    assert "0 created, 0 updated, 5 unchanged" in capsys.readouterr().out
    with (cli_env / "out.csv").open(newline="") as exported:
        names = [row[1] for row in csv.reader(exported)][1:]
    assert names == ["'" + name for name in FORMULA_NAMES]
    assert not any(name[0] in "=+-@\t\r" for name in names)


def test_import_joins_the_public_channels_it_links_and_names_the_private_ones_to_invite_to(cli_env, fake_slack, capsys):
    fake_slack.add_channel("C0CRM", "crm-team", bot_is_member=False)
    fake_slack.add_channel("C0HR", "hr-secret", is_private=True, bot_is_member=False)
    (cli_env / "in.csv").write_text(
        "key,name,programme,objective,sponsor,lead,services,channel,checkin_day,checkin_time,timezone,status\n"
        "CRM-2,Customer records,,,,,,C0CRM,,,,\n"
        "HR-1,HR system,,,,,,C0HR,,,,\n"
    )

    assert run_cli("import", "in.csv") == 0
    out = capsys.readouterr().out
    assert run_cli("tick", "--at", "2026-12-07T09:30") == 0  # the first Monday prompt after the import

    assert [call.args["channel"] for call in fake_slack.ok_calls_to("conversations.join")] == ["C0CRM"]
    assert "invite @pmo-bot to C0HR" in out and "C0CRM" not in out.split("unchanged", 1)[1]
    assert any("weekly check-in" in message["text"] for message in fake_slack.messages_in("C0CRM"))


def test_serve_on_several_workers_answers_slack_and_runs_the_scheduler_once(cli_env, fake_slack):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=cli_env, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(f"http://127.0.0.1:{port}/healthz", server)
        slack = SignedRequests(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, fake_slack, team_id=TEAM_ID)
        acks = [slack.command("help", user_id="U0ANYONE", channel_id="C0PMO").status_code for _ in range(4)]
        fake_slack.wait_for_response(lambda _: len(fake_slack.responses) == 4)
        replies = fake_slack.responses
    finally:
        server.terminate()
        server.wait(timeout=20)
    log = server.stderr.read().decode() if server.stderr else ""

    assert acks == [200] * 4
    assert all("/pmo" in reply["text"] for reply in replies)
    assert log.count("scheduler started") == 1, log
    assert "with 2 workers of 2 threads" in log
