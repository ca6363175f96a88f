"""Tests of the test harness itself: the fake Slack Web API, its Block Kit checks, and the
signed requests that play Slack towards a real Bolt app."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.demo import blockkit
from bot.demo.fake_slack import FakeSlack
from bot.demo.signed import SignedRequests, plain_input, slack_signature, static_select

SCOPES = [
    "channels:join",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:read",
    "im:read",
    "im:write",
    "usergroups:read",
    "users:read",
    "users:read.email",
]
SIGNING_SECRET = "test-signing-secret"
PAYLOAD_SHAPES = Path(__file__).parent / "slack" / "payload-shapes"


def write_manifest(path: Path, bot_scopes: list[str]) -> Path:
    path.write_text(
        yaml.safe_dump({"display_information": {"name": "pmo-bot"}, "oauth_config": {"scopes": {"bot": bot_scopes}}})
    )
    return path


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, value: str, text: str = "Go") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": text}}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def modal(title: str, blocks: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks or [section("hi")],
        **fields,
    }


def slack_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return excinfo.value.response["error"]


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSlack]:
    with FakeSlack(write_manifest(tmp_path / "manifest.yml", SCOPES)) as fake:
        fake.add_user("U1", email="Ada@Example.com", name="ada", tz="Europe/London")
        fake.add_channel("C1", "general", members=["U1"])
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(base_url=fake.url, token=fake.bot_token)


# --- the gatekeeping: what Slack rejects before doing anything -----------------------------


def test_unknown_method_is_rejected(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMesage", json={"channel": "C1", "text": "hi"})
    assert slack_error(excinfo) == "unknown_method"


def test_request_without_token_is_not_authed(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.url).auth_test()
    assert slack_error(excinfo) == "not_authed"


def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.url, token="xoxb-someone-else").auth_test()
    assert slack_error(excinfo) == "invalid_auth"


def test_missing_scope_names_needed_and_provided(tmp_path: Path) -> None:
    with FakeSlack(write_manifest(tmp_path / "manifest.yml", ["chat:write"])) as fake:
        fake.add_channel("C1", "general")
        with pytest.raises(SlackApiError) as excinfo:
            WebClient(base_url=fake.url, token=fake.bot_token).conversations_info(channel="C1")
    assert excinfo.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:read",
        "provided": "chat:write",
    }


def test_private_channel_needs_the_groups_scope(tmp_path: Path) -> None:
    with FakeSlack(write_manifest(tmp_path / "manifest.yml", ["channels:read"])) as fake:
        fake.add_channel("C2", "secret", is_private=True)
        with pytest.raises(SlackApiError) as excinfo:
            WebClient(base_url=fake.url, token=fake.bot_token).conversations_info(channel="C2")
    assert excinfo.value.response["needed"] == "groups:read"


def test_missing_required_argument_is_invalid_arguments(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("users.info", params={})
    assert slack_error(excinfo) == "invalid_arguments"
    assert excinfo.value.response["response_metadata"]["messages"] == ["[ERROR] missing required field: user"]


def test_views_open_without_trigger_id_is_invalid_trigger_id(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("views.open", json={"view": modal("Hi")})
    assert slack_error(excinfo) == "invalid_trigger_id"


def test_json_body_is_ignored_by_methods_that_take_form_data_only(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("users.info", json={"user": "U1"})
    assert slack_error(excinfo) == "invalid_arguments"


def test_form_encoded_json_arguments_are_recorded_decoded(fake: FakeSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps([section("hi")])})
    assert fake.ok_calls_to("chat.postMessage")[0].args["blocks"] == [section("hi")]


# --- Block Kit limits through the API ---------------------------------------------------


def test_message_with_51_blocks_is_rejected_and_50_accepted(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="t", blocks=[section(str(i)) for i in range(51)])
    client.chat_postMessage(channel="C1", text="t", blocks=[section(str(i)) for i in range(50)])
    assert slack_error(excinfo) == "invalid_blocks"
    assert len(fake.messages_in("C1")) == 1


def test_section_text_over_3000_characters_is_rejected(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="t", blocks=[section("x" * 3001)])
    assert slack_error(excinfo) == "invalid_blocks"
    assert "[json-pointer:/blocks/0/text/text]" in excinfo.value.response["response_metadata"]["messages"][0]


def test_modal_title_over_24_characters_is_rejected(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.new_trigger_id(), view=modal("x" * 25))
    assert slack_error(excinfo) == "invalid_arguments"


def test_view_over_250_kb_is_too_large(fake: FakeSlack, client: WebClient) -> None:
    huge = modal("Big", [section("x" * 2900) for _ in range(90)])
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.new_trigger_id(), view=huge)
    assert slack_error(excinfo) == "view_too_large"


# --- the world: channels, DMs, users, messages, views, files ----------------------------


@pytest.mark.parametrize(
    ("arrange", "channel", "error"),
    [
        (lambda fake: fake.archive("C1"), "C1", "is_archived"),
        (lambda fake: fake.remove_bot("C1"), "C1", "not_in_channel"),
        (lambda fake: None, "C404", "channel_not_found"),
        (
            lambda fake: fake.add_channel("C3", "hidden", is_private=True, bot_is_member=False),
            "C3",
            "channel_not_found",
        ),
    ],
    ids=["archived", "bot-not-member", "unknown", "private-without-bot"],
)
def test_posting_where_the_bot_cannot_post_is_rejected(
    fake: FakeSlack, client: WebClient, arrange: Any, channel: str, error: str
) -> None:
    arrange(fake)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=channel, text="hi")
    assert slack_error(excinfo) == error


def test_post_returns_increasing_ts_and_stores_thread_replies(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent["ts"])
    assert float(reply["ts"]) > float(parent["ts"])
    assert [m.get("thread_ts") for m in fake.messages_in("C1")] == [None, parent["ts"]]


def test_posting_to_a_user_id_lands_in_the_dm_conversations_open_returns(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U1", text="psst")
    opened = client.conversations_open(users="U1")
    assert posted["channel"] == opened["channel"]["id"]
    assert [m["text"] for m in fake.messages_in("U1")] == ["psst"]


def test_posting_to_a_deactivated_user_is_account_inactive(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U9", deleted=True)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="U9", text="hi")
    assert slack_error(excinfo) == "account_inactive"


def test_update_of_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.000001", text="new")
    assert slack_error(excinfo) == "message_not_found"


def test_update_replaces_the_stored_message(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="old")
    client.chat_update(channel="C1", ts=posted["ts"], text="new")
    assert [m["text"] for m in fake.messages_in("C1")] == ["new"]


def test_join_public_channel_makes_the_bot_a_member(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C5", "random", bot_is_member=False)
    client.conversations_join(channel="C5")
    assert client.conversations_info(channel="C5")["channel"]["is_member"] is True


def test_users_info_and_lookup_by_email(client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert (user["profile"]["email"], user["tz"]) == ("Ada@Example.com", "Europe/London")
    assert client.users_lookupByEmail(email="ada@example.com")["user"]["id"] == "U1"


def test_users_info_omits_email_without_users_read_email(tmp_path: Path) -> None:
    with FakeSlack(write_manifest(tmp_path / "manifest.yml", ["users:read"])) as fake:
        fake.add_user("U1", email="ada@example.com")
        user = WebClient(base_url=fake.url, token=fake.bot_token).users_info(user="U1")["user"]
    assert "email" not in user["profile"]


def test_trigger_id_is_exchanged_only_once(fake: FakeSlack, client: WebClient) -> None:
    trigger_id = fake.new_trigger_id()
    client.views_open(trigger_id=trigger_id, view=modal("First"))
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger_id, view=modal("Second"))
    assert slack_error(excinfo) == "exchanged_trigger_id"


def test_views_update_by_external_id_keeps_the_view_id(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.new_trigger_id(), view=modal("One", external_id="ext-1"))
    updated = client.views_update(external_id="ext-1", view=modal("Two"))
    assert updated["view"]["id"] == opened["view"]["id"]
    assert fake.views[opened["view"]["id"]]["title"]["text"] == "Two"


def test_home_tab_is_stored_per_user(fake: FakeSlack, client: WebClient) -> None:
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Home")]})
    assert fake.home_views["U1"]["blocks"] == [section("Home")]


def test_files_upload_v2_goes_through_the_upload_url(fake: FakeSlack, client: WebClient) -> None:
    client.files_upload_v2(channel="C1", filename="report.csv", content="a,b\n1,2\n", title="Report")
    (uploaded,) = fake.files.values()
    assert (uploaded["content"], uploaded["channels"]) == (b"a,b\n1,2\n", ["C1"])


def test_usergroup_members(fake: FakeSlack, client: WebClient) -> None:
    fake.add_usergroup("S1", ["U1", "U2"])
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]


# --- faults, rate limits and retries --------------------------------------------------------


def test_429_is_retried_after_retry_after_and_posts_once(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)  # 0 keeps slack_sdk's wait under 1 s
    client = WebClient(
        base_url=fake.url, token=fake.bot_token, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    client.chat_postMessage(channel="C1", text="hi")
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages_in("C1")) == 1


def test_500_once_is_retried_by_server_error_handler(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500)
    retry = ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    client = WebClient(base_url=fake.url, token=fake.bot_token, retry_handlers=[retry])
    client.chat_postMessage(channel="C1", text="hi")
    assert [(call.status, call.error) for call in fake.calls_to("chat.postMessage")] == [
        (500, "internal_error"),
        (200, None),
    ]


def test_per_channel_rate_limit_answers_429_with_whole_seconds(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C2", "other")
    fake.set_rate_limit(per_channel_per_second=1)
    client.chat_postMessage(channel="C1", text="first")
    client.chat_postMessage(channel="C2", text="other channel, own budget")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="too soon")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"


# --- recording and waiting ------------------------------------------------------------------


def test_wait_for_returns_a_call_made_from_another_thread(fake: FakeSlack, client: WebClient) -> None:
    poster = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="async"))
    poster.start()
    call = fake.wait_for("chat.postMessage", lambda call: call.args["text"] == "async")
    poster.join()
    assert call.ok


def test_wait_for_timeout_lists_recent_calls(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"auth\.test -> ok"):
        fake.wait_for("chat.postMessage", timeout=0.05)


def test_reset_forgets_calls_and_world(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hi")
    fake.reset()
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="hi")
    assert [call.error for call in fake.calls] == ["channel_not_found"]


def test_response_url_post_is_recorded(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    sent = WebhookClient(url).send(text="done", response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    assert fake.wait_for_response(lambda response: response["text"] == "done")["url"] == url


def test_response_url_rejects_invalid_blocks(fake: FakeSlack) -> None:
    sent = WebhookClient(fake.new_response_url()).send(text="t", blocks=[section("")])
    assert (sent.status_code, sent.body) == (400, "invalid_blocks")
    assert fake.responses == []


# --- blockkit: the limits themselves --------------------------------------------------------


def test_blockkit_accepts_a_typical_message() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly check-in"}},
        {"type": "section", "block_id": "s", "fields": [{"type": "mrkdwn", "text": "*RAG*"}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "due Friday"}]},
        {**actions(button("green", "g"), button("red", "r")), "block_id": "a"},
        {"type": "divider"},
    ]
    assert blockkit.message_problems(blocks) == []


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ("not a list", "blocks must be a list"),
        ([{"type": "carousel_of_doom"}], "unknown block type"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "longer than 150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}], "must be of type plain_text"),
        ([section("")], "section text must not be empty"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "no more than 10 fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}], "longer than 2000"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "no more than 10 context"),
        ([actions(*[button(f"b{i}", "v") for i in range(26)])], "no more than 25 actions"),
        ([actions(button("b", "v", text="x" * 76))], "button text is longer than 75"),
        ([actions(button("b", "x" * 2001))], "value is longer than 2000"),
        ([actions(button("x" * 256, "v"))], "action_id is longer than 255"),
        ([actions(button("b", "v"), button("b", "w"))], "not unique in its block"),
        ([actions({**button("b", "v"), "url": "https://x/" + "x" * 3000})], "url is longer than 3000"),
        ([{**section("a"), "block_id": "x" * 256}], "block_id is longer than 255"),
        ([{**section("a"), "block_id": "same"}, {**section("b"), "block_id": "same"}], "is not unique"),
        (
            [{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "plain_text_input"}}],
            "only allowed in modals",
        ),
        ([actions({"type": "plain_text_input", "action_id": "i"})], "not allowed in actions blocks"),
    ],
)
def test_blockkit_message_limits(blocks: Any, problem: str) -> None:
    problems = blockkit.message_problems(blocks)
    assert any(problem in p for p in problems), problems


def static_select_block(options: int, option_text: str = "o") -> dict[str, Any]:
    element = {
        "type": "static_select",
        "action_id": "s",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": [{"text": {"type": "plain_text", "text": option_text}, "value": f"v{i}"} for i in range(options)],
    }
    return actions(element)


def test_blockkit_select_option_limits() -> None:
    assert blockkit.message_problems([static_select_block(100)]) == []
    assert "no more than 100 options" in blockkit.message_problems([static_select_block(101)])[0]
    assert "longer than 75" in blockkit.message_problems([static_select_block(1, "x" * 76)])[0]


def input_block(label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "name",
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        ({"type": "dialog", "blocks": []}, "view type must be one of modal, home"),
        ({"type": "modal", "blocks": []}, "a modal requires a title"),
        (modal("x" * 25), "title is longer than 24"),
        (modal("T", submit={"type": "plain_text", "text": "x" * 25}), "submit is longer than 24"),
        (modal("T", close={"type": "plain_text", "text": "x" * 25}), "close is longer than 24"),
        (modal("T", private_metadata="x" * 3001), "private_metadata is longer than 3000"),
        (modal("T", callback_id="x" * 256), "callback_id is longer than 255"),
        (modal("T", [section(str(i)) for i in range(101)]), "no more than 100 blocks"),
        (
            modal("T", [input_block("x" * 2001)], submit={"type": "plain_text", "text": "Save"}),
            "input label is longer than 2000",
        ),
        (modal("T", [input_block("Name")]), "requires submit"),
    ],
)
def test_blockkit_view_limits(view: dict[str, Any], problem: str) -> None:
    problems = blockkit.view_problems(view)
    assert any(problem in p for p in problems), problems


def test_blockkit_accepts_a_modal_with_100_blocks_and_inputs() -> None:
    blocks = [input_block("Name")] + [section(str(i)) for i in range(99)]
    view = modal("x" * 24, blocks, submit={"type": "plain_text", "text": "Save"}, private_metadata="x" * 3000)
    assert blockkit.view_problems(view) == []


# --- SignedRequests against a real Bolt app -------------------------------------------------


@dataclass
class BoltHarness:
    app: App
    signed: SignedRequests
    received: list[dict[str, Any]]  # every request body that passed Bolt's signature check


class FrozenClock(Clock):
    def now(self) -> float:
        return 1_700_000_000


@pytest.fixture
def bolt(fake: FakeSlack) -> Iterator[BoltHarness]:
    """A minimal Bolt app served over HTTP, its client pointed at the fake."""
    app = App(client=WebClient(base_url=fake.url, token=fake.bot_token), signing_secret=SIGNING_SECRET)
    received: list[dict[str, Any]] = []

    @app.middleware
    def record_body(body: dict[str, Any], next: Callable[[], None]) -> None:  # Bolt injects by these names
        received.append(body)
        next()

    class BoltHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            response = app.dispatch(BoltRequest(body=body, headers=dict(self.headers)))
            payload = response.body.encode()
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), BoltHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    yield BoltHarness(app, SignedRequests(url, SIGNING_SECRET, fake), received)
    server.shutdown()
    server.server_close()
    thread.join()


def test_slack_signature_matches_slack_sdk_verifier() -> None:
    body = b"token=x&text=hello"
    signature = slack_signature(SIGNING_SECRET, 1_700_000_000, body)
    assert SignatureVerifier(SIGNING_SECRET, clock=FrozenClock()).is_valid(body, "1700000000", signature)


def test_command_reaches_the_app_and_respond_posts_to_the_response_url(fake: FakeSlack, bolt: BoltHarness) -> None:
    @bolt.app.command("/pmo")
    def echo(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(f"echo {command['text']}")

    assert bolt.signed.command("status", user_id="U1", channel_id="C1").status_code == 200
    assert fake.wait_for_response()["text"] == "echo status"


@pytest.mark.parametrize(
    "forgery", [{"signature": "v0=" + "0" * 64}, {"timestamp": 1_600_000_000}], ids=["bad-signature", "stale"]
)
def test_forged_or_stale_requests_get_401(bolt: BoltHarness, forgery: dict[str, Any]) -> None:
    assert bolt.signed.command("status", user_id="U1", channel_id="C1", **forgery).status_code == 401
    assert bolt.received == []


def test_block_action_clicks_a_button_the_app_posted(fake: FakeSlack, client: WebClient, bolt: BoltHarness) -> None:
    @bolt.app.action("approve")
    def approve(ack: Any, respond: Any, action: dict[str, Any]) -> None:
        ack()
        respond(f"approved {action['value']}", replace_original=True)

    client.chat_postMessage(channel="C1", text="t", blocks=[actions(button("approve", "P-7"))])
    bolt.signed.block_action("approve", user_id="U1", channel_id="C1", message=fake.messages_in("C1")[-1])
    assert fake.wait_for_response()["text"] == "approved P-7"


def test_view_submission_delivers_state_values(bolt: BoltHarness) -> None:
    submitted: list[dict[str, Any]] = []

    @bolt.app.view("new_project")
    def save(ack: Any, view: dict[str, Any]) -> None:
        ack()
        submitted.append(view["state"]["values"])

    values = {"name": {"value": plain_input("Apollo")}, "rag": {"value": static_select("green")}}
    assert bolt.signed.view_submission("new_project", values, user_id="U1").status_code == 200
    assert submitted == [values]


def test_event_retry_headers_reach_the_app(bolt: BoltHarness) -> None:
    retries: list[str | None] = []

    @bolt.app.event("app_mention")
    def mention(ack: Any, request: BoltRequest) -> None:
        ack()
        retries.append(request.headers.get("x-slack-retry-num", [None])[0])

    app_mention = {"type": "app_mention", "user": "U1", "channel": "C1", "text": "<@U0BOT> hi", "ts": "1.000001"}
    bolt.signed.event(app_mention, event_id="Ev1", retry_num=1)
    assert retries == ["1"]


def test_url_verification_is_answered_with_the_challenge(bolt: BoltHarness) -> None:
    assert bolt.signed.url_verification("c-123").json() == {"challenge": "c-123"}


def _keys_outside(shape: dict[str, Any], payload: dict[str, Any], path: str = "") -> list[str]:
    """Keys of `payload` (recursively, through objects) that Slack's payload shape does not
    have; an empty object in the shape (like state) stands for any keys."""
    outside = []
    for key, value in payload.items():
        if key not in shape:
            outside.append(f"{path}/{key}")
        elif isinstance(value, dict) and isinstance(shape[key], dict) and shape[key]:
            outside += _keys_outside(shape[key], value, f"{path}/{key}")
    return outside


def test_interaction_payloads_use_only_fields_slack_sends(client: WebClient, bolt: BoltHarness) -> None:
    message = client.chat_postMessage(channel="C1", text="t", blocks=[actions(button("go", "1"))])
    bolt.signed.block_action("go", user_id="U1", channel_id="C1", message=message["message"])
    bolt.signed.view_submission("cb", {}, user_id="U1")
    bolt.signed.message_shortcut("sc", user_id="U1", channel_id="C1", message=message["message"])
    shapes = ["BlockActionPayload", "ViewSubmissionPayload", "MessageShortcutPayload"]
    for shape_name, body in zip(shapes, bolt.received, strict=True):
        shape = json.loads((PAYLOAD_SHAPES / f"{shape_name}.json").read_text())
        assert _keys_outside(shape, body) == [], shape_name


def test_slash_command_fields_are_slacks(bolt: BoltHarness) -> None:
    bolt.signed.command("x", user_id="U1", channel_id="C1")
    shape = json.loads((PAYLOAD_SHAPES / "SlashCommandPayload.json").read_text())
    assert set(bolt.received[0]) == set(shape) - {"enterprise_id", "enterprise_name"}  # those: Enterprise Grid only
