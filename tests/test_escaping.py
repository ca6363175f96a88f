"""Words people, imports, syncs and webhooks supply are escaped once, when Block Kit is built.

Two tiers: every public builder in handlers/blocks/ is called with hostile text in every
free-text field; and the check-in cycle runs through signed requests with hostile words,
after which no message the fake Slack recorded holds a live mention or link.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import importlib
import inspect
import json
import pkgutil
import re
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

import handlers.blocks
from bot.demo.signed import checkboxes, datepicker, plain_input, static_select
from handlers.blocks.common import escaped
from handlers.jobs import run_due_work
from tests.conftest import PMO_CHANNEL
from tests.factories import LEAD, SPONSOR, add_project

HOSTILE_MARKUP = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S1|@team>",
    "<@U123>",
    "<https://evil|click>",
)
HOSTILE = " ".join(HOSTILE_MARKUP) + " & co"
# Anything that Slack would turn into a mention, a broadcast or a link.
LIVE_MARKUP = re.compile(r"<(?:!channel|!here|!everyone|!subteam|@U123|https://evil)")

# Builders whose arguments are already mrkdwn (composed by other builders), or lists of our own options.
NOT_FREE_TEXT_BUILDERS = {
    "with_verdicts",
    "help_blocks",
    "help_text",
    "unknown_subcommand_text",
    "relation_text",
    "service_saved_modal",
    # Our own subcommand declarations; the one word a person typed is escaped by unknown_subcommand_text.
    "example_of",
    "subcommand_help_text",
    "subcommand_help_blocks",
    "suggestions",
    "unknown_subcommand_blocks",
    # The pack's own title and chart titles.
    "pack_charts_comment",
    # Wraps a message another builder made (escaped there) for the PMO channel.
    "redirected_text",
}
# Parameters and fields that are never free text: ids, keys, enums, periods, our own labels.
SAFE_VALUES: dict[str, Any] = {
    "reason": "Reported Red.",  # an escalation's wording, composed by the domain
    "incident_headline": "SEV1 on Payments (INC-7)",  # composed by handlers.blocks.incidents.headline
    "one": "project",
    "status": "active",
    "state": "active",
    "severity": "SEV1",
    "kind": "repeat",
    "relation": "depends_on",
    "outcome": "same_effort",
    "broken_reason": "is_archived",
    "cadence": "Mon 09:30 Europe/London",
    "label": "up to a week",
    "time_of_day": "09:30",
    "timezone": "Europe/London",
    "month": "2026-11",
    "source_link": "https://fake.slack.com/archives/C1/p1",
    "dm_link": "https://fake.slack.com/archives/D1/p1",  # a permalink Slack gave
    "bank_holiday": "Christmas Day",  # from the holidays package's tables
    "actor": "import",  # an audit row's system actor, or a Slack user ID
    "door": "command",
    "operation": "update",
    "record_type": "projects",
    "response": "reduce",  # a risk's response: one of four words of ours
    "financial_year": "2026-27",  # composed by bot.services.cost.financial_year_of
    "confidence": "dca5:amber_red",  # a stored level, written by bot.services.confidence.stored
    "given_level": "dca5:amber_red",
}


# Arguments that are our own wording in a particular builder.
OUR_ARGUMENTS = {("status_table_text", "title"): "Projects you sponsor"}
# Fields that hold an id or key in the instance the generic values build (a sponsor's compliance is keyed by user).
OUR_FIELDS = {("ComplianceRate", "name"): "U0SAFE"}


def _safe_text(name: str) -> str | None:
    lowered = name.lower()
    if lowered in SAFE_VALUES:
        return SAFE_VALUES[lowered]
    if lowered.endswith(("user_id", "user_ids", "_by")) or lowered in ("lead", "owner", "recipient", "viewer"):
        return "U0SAFE"
    if "channel" in lowered or lowered in ("shown_in",):
        return "C0SAFE"
    if lowered.endswith(("key", "keys")):
        return "CRM-2"
    if lowered in ("rag", "overall", "schedule", "cost", "scope", "last_status", "previous", "latest"):
        return "red"
    if "period" in lowered or lowered == "week":
        return "2026-W48"
    if "date" in lowered:
        return "2026-12-01"
    return None


def _value(name: str, annotation: Any) -> Any:
    """A value of `annotation` for a parameter or field called `name`, hostile where it is free text."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _value(name, next(arg for arg in args if arg is not type(None)))
    if origin is typing.Literal:
        return args[0]
    if origin is tuple:
        if args and args[-1] is not Ellipsis:
            # (key, name) pairs: the first item is the key.
            return tuple(_value(f"{name}_key" if index == 0 else name, arg) for index, arg in enumerate(args))
        return (_value(name, args[0] if args else str),)
    if origin in (list, set, frozenset) or annotation in (list, tuple):
        return [_value(name, args[0] if args else str)]
    if origin is collections.Counter:
        return collections.Counter()
    if origin in (dict, Mapping):
        return {}
    if annotation in (str, Any):
        return _safe_text(name) or HOSTILE
    if annotation is bool:
        return True
    if annotation in (int, float):
        return annotation(1)
    if annotation is Decimal:
        return Decimal("5")
    if annotation is datetime:
        return datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    if annotation is date:
        return date(2026, 12, 1)
    if annotation is timedelta:
        return timedelta(days=1)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        fields = dataclasses.fields(annotation)
        return annotation(
            **{
                field.name: OUR_FIELDS.get((annotation.__name__, field.name)) or _value(field.name, hints[field.name])
                for field in fields
                if field.init
            }
        )
    raise TypeError(f"no test value for {name}: {annotation!r}")


def _builders() -> list[Any]:
    found = []
    for module_info in pkgutil.iter_modules(handlers.blocks.__path__):
        if module_info.name in ("common", "metadata"):
            continue
        module = importlib.import_module(f"handlers.blocks.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            ours = function.__module__ == module.__name__ and not name.startswith("_")
            if ours and name not in NOT_FREE_TEXT_BUILDERS:
                found.append(pytest.param(function, id=f"{module_info.name}.{name}"))
    return found


def _rendered_texts(built: Any, *, top: bool = True) -> list[str]:
    """The strings Slack parses as mrkdwn: text fallbacks and mrkdwn objects (not plain_text, not values)."""
    if isinstance(built, str):
        return [built] if top else []
    if isinstance(built, (list, tuple)):
        return [text for item in built for text in _rendered_texts(item, top=top)]
    if isinstance(built, dict):
        if built.get("type") == "plain_text":
            return []
        if built.get("type") == "mrkdwn":
            return [built["text"]]
        return [
            text
            for key, item in built.items()
            if key not in ("value", "private_metadata", "initial_value", "url", "action_id", "block_id")
            for text in _rendered_texts(item, top=key == "text")
        ]
    return []


def _call_with_hostile_text(builder: Any) -> Any:
    hints = typing.get_type_hints(builder)
    arguments = {
        name: OUR_ARGUMENTS.get((builder.__name__, name)) or _value(name, hints.get(name, str))
        for name, parameter in inspect.signature(builder).parameters.items()
        if parameter.default is inspect.Parameter.empty or name in hints
    }
    return builder(**arguments)


def test_the_escape_is_exact_and_applied_once():
    assert escaped("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"
    assert escaped("R&D") == "R&amp;D"


@pytest.mark.parametrize("builder", _builders())
def test_no_builder_lets_typed_text_become_a_mention_or_link(builder):
    try:
        built = _call_with_hostile_text(builder)
    except (TypeError, KeyError, ValueError) as problem:  # a builder of data the generic values cannot make
        pytest.skip(f"built separately: {problem}")
    texts = _rendered_texts(built)
    rendered = json.dumps(texts)
    assert not LIVE_MARKUP.search(rendered), rendered
    assert "&amp;lt;" not in rendered and "&amp;amp;" not in rendered, "escaped twice"


# --- through the doors Slack uses --------------------------------------------------------

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def _every_text_sent(fake_slack) -> str:
    sent = [call.args for call in fake_slack.ok_calls_to("chat.postMessage")]
    sent += [call.args for call in fake_slack.ok_calls_to("chat.update")]
    sent += [call.args for call in fake_slack.ok_calls_to("chat.postEphemeral")]
    sent += fake_slack.responses
    return json.dumps([_rendered_texts({"text": args.get("text"), "blocks": args.get("blocks", [])}) for args in sent])


def test_a_project_named_like_a_broadcast_pings_nobody_with_its_weekly_prompt(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0WORKS", "works", members=(LEAD,))
    add_project(session_factory, "WRK-1", "<!channel> Works", channels=("C0WORKS",))

    run_due_work(app_context, DUE)

    [prompt] = fake_slack.messages_in("C0WORKS")
    sent = _every_text_sent(fake_slack)
    assert "&lt;!channel&gt; Works" in sent and not LIVE_MARKUP.search(sent)


def test_hostile_words_in_a_red_check_in_reach_the_thread_the_pmo_and_the_sponsor_inert(
    app_context, slack, fake_slack, session_factory, listeners
):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(SPONSOR)
    add_project(session_factory, channels=("C0CRM",))
    run_due_work(app_context, DUE)

    form = {
        "overall": {"overall": static_select("red")},
        "progress": {"progress": plain_input(HOSTILE)},
        "help": {"help": plain_input(HOSTILE)},
        "escalate": {"escalate": checkboxes(["escalate"])},
        "path_to_green": {"path_to_green": plain_input(HOSTILE)},
        "path_to_green_date": {"path_to_green_date": datepicker("2027-01-15")},
    }
    response = slack.view_submission(
        "checkin.submit",
        form,
        user_id=LEAD,
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()

    assert response.status_code == 200
    assert fake_slack.messages_in(PMO_CHANNEL) and fake_slack.messages_in(SPONSOR)
    sent = _every_text_sent(fake_slack)
    assert not LIVE_MARKUP.search(sent), sent
    assert "&lt;!channel&gt;" in sent and "&amp;lt;" not in sent
