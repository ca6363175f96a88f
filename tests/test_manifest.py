"""manifest.yml creates a working app: valid, complete, and asking for no scope it does not use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

from tests.conftest import REPO_ROOT

SLACK_DATA = Path(__file__).parent / "slack"
METHODS_DIR = REPO_ROOT / "bot" / "demo" / "methods"
# The demo's fake Slack plays Slack's side of the Web API: what it names, the app does not call.
FAKE_SLACK_PACKAGE = REPO_ROOT / "bot" / "demo"
SOURCE_PACKAGES = ("bot", "handlers", "storage")
# Slack refuses users:read.email unless users:read is granted too.
SCOPES_SLACK_REQUIRES_ALONGSIDE = {"users:read.email": {"users:read"}}


def _manifest() -> dict:
    return yaml.safe_load((REPO_ROOT / "manifest.yml").read_text())


def _granted() -> set[str]:
    return set(_manifest()["oauth_config"]["scopes"]["bot"])


def _methods_called_by_the_code() -> set[str]:
    known = {path.stem for path in METHODS_DIR.glob("*.json")}
    called: set[str] = set()
    for package in SOURCE_PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            if path.is_relative_to(FAKE_SLACK_PACKAGE):
                continue
            source = path.read_text()
            # slack_sdk's client.conversations_info(...) is the Web API's conversations.info
            called |= {
                name.replace("_", ".")
                for name in re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", source)
                if name != "api_call"  # the generic call; its method names are found as strings below
            }
            called |= {name for name in re.findall(r'"([a-z]+\.[A-Za-z.]+)"', source) if name in known}
    return called


def _method_scopes(method: str) -> list[str]:
    facts = json.loads((METHODS_DIR / f"{method}.json").read_text())
    return (facts.get("scope") or {}).get("bot") or []


def _event_scopes() -> dict[str, list[str]]:
    return {event["name"]: event.get("scopes", []) for event in json.loads((SLACK_DATA / "events.json").read_text())}


def test_manifest_is_valid_against_slacks_schema():
    schema = json.loads((SLACK_DATA / "manifest" / "schemas_manifest.schema.1.0.0.json").read_text())

    assert sorted(error.message for error in Draft7Validator(schema).iter_errors(_manifest())) == []


def test_every_method_the_code_calls_is_known_to_slack_and_granted():
    called = _methods_called_by_the_code()
    unknown = {method for method in called if not (METHODS_DIR / f"{method}.json").exists()}
    missing = {
        method: _method_scopes(method)
        for method in called - unknown
        if _method_scopes(method) and not set(_method_scopes(method)) & _granted()
    }

    assert "chat.postMessage" in called and "conversations.join" in called  # the scan sees the code
    assert unknown == set() and missing == {}


def test_every_granted_scope_is_used():
    manifest = _manifest()
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    justified = {"commands"} if manifest["features"].get("slash_commands") else set()
    for method in _methods_called_by_the_code():
        justified |= set(_method_scopes(method)) & _granted()
    for event in events:
        justified |= set(_event_scopes()[event]) & _granted()
    for scope in set(justified):
        justified |= SCOPES_SLACK_REQUIRES_ALONGSIDE.get(scope, set())

    assert _granted() - justified == set()


def test_private_and_public_channel_lookups_are_both_granted():
    # conversations.info needs channels:read for public and groups:read for private channels.
    assert {"channels:read", "groups:read"} <= _granted()


def test_every_command_and_event_in_the_manifest_has_a_listener(slack, listeners):
    manifest = _manifest()

    for slash in manifest["features"]["slash_commands"]:
        assert slack.command("help", user_id="U0X", channel_id="C0PMO", command=slash["command"]).status_code == 200
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        response = slack.event({"type": event, "user": "U0X", "channel": "C0PMO"}, event_id=f"Ev-{event}")
        assert response.status_code == 200, f"no listener for {event}"
    listeners.wait_idle()
