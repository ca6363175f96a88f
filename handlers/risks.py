"""The RAID log in Slack: `/pmo risk add`, `/pmo risks`, `/pmo issue add`, `/pmo issues`,
`/pmo decisions`, the risk cards' Review / Close / Add note, decisions asked for, the PMO's
alerts, late reviews at the ladder's PMO step, and the check-in's "still accurate?" boxes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import decisions, message_keys, outbox, partners, portfolio, risks
from bot.services.access import Actor
from bot.services.risks import NewIssue, NewRisk
from handlers.blocks.actions import ACTION_DM_EVENT
from handlers.blocks.risks import (
    DM,
    RAID_DM_EVENT,
    DecisionRef,
    DecisionSubject,
    IssueRef,
    NewRaidItem,
    RaidPage,
    RiskRef,
    decision_asked_modal,
    decision_list,
    decision_needed_modal,
    decision_recorded_modal,
    decision_request_dm,
    issue_added_modal,
    issue_list,
    new_issue_modal,
    new_risk_modal,
    note_added_modal,
    note_modal,
    record_decision_modal,
    review_modal,
    reviewed_modal,
    risk_added_modal,
    risk_list,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import (
    chat_message,
    claim,
    deliver,
    deliver_dm,
    post_or_update,
    redraw_action_dm,
    refresh_home,
)
from handlers.ids import DecisionBlock, IssueBlock, RaidActionId, RaidCallbackId, RiskBlock
from handlers.outcomes import changed_items_message, claim_pmo_alert
from handlers.request import channel_audience
from storage.session import unit_of_work


def _zone(ctx: AppContext) -> ZoneInfo:
    return ZoneInfo(ctx.settings.default_timezone)


# --- reading forms --------------------------------------------------------------------------


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return values.get(block_id, {}).get(block_id, {})


def _text(values: dict[str, Any], block_id: str) -> str:
    return (_element(values, block_id).get("value") or "").strip()


def _day(values: dict[str, Any], block_id: str) -> date | None:
    selected = _element(values, block_id).get("selected_date")
    return date.fromisoformat(selected) if selected else None


def _option(values: dict[str, Any], block_id: str) -> str:
    return (_element(values, block_id).get("selected_option") or {}).get("value") or ""


def _score(values: dict[str, Any], block_id: str) -> int:
    chosen = _option(values, block_id)
    return int(chosen) if chosen.isdigit() else 0


def _missing(values: dict[str, Any], required: dict[str, str]) -> dict[str, str]:
    """A message for each required input left empty, keyed by its block."""
    found = {}
    for block_id, message in required.items():
        element = _element(values, block_id)
        if not any(element.get(name) for name in ("value", "selected_date", "selected_user", "selected_option")):
            found[block_id] = message
    return found


def _read_new_risk(key: str, values: dict[str, Any], today: date) -> tuple[NewRisk | None, dict[str, str]]:
    errors = _missing(
        values,
        {
            RiskBlock.TITLE: "Say what might happen, in a line.",
            RiskBlock.OWNER: "Choose who owns the risk.",
            RiskBlock.PROBABILITY: "Choose how likely it is, 1 to 5.",
            RiskBlock.IMPACT: "Choose how bad it would be, 1 to 5.",
            RiskBlock.RESPONSE: "Choose the response.",
            RiskBlock.NEXT_REVIEW: "Choose when to review it next.",
        },
    )
    owner, next_review = _element(values, RiskBlock.OWNER).get("selected_user"), _day(values, RiskBlock.NEXT_REVIEW)
    if errors or owner is None or next_review is None:
        return None, errors
    new = NewRisk(
        project_key=key,
        title=_text(values, RiskBlock.TITLE),
        owner_user_id=owner,
        probability=_score(values, RiskBlock.PROBABILITY),
        impact=_score(values, RiskBlock.IMPACT),
        response=_option(values, RiskBlock.RESPONSE),
        next_review=next_review,
        proximity=_day(values, RiskBlock.PROXIMITY),
        mitigation=_text(values, RiskBlock.MITIGATION) or None,
    )
    return new, risks.risk_problems(new, today=today)


def _read_new_issue(key: str, values: dict[str, Any], today: date) -> tuple[NewIssue | None, dict[str, str]]:
    errors = _missing(
        values,
        {
            IssueBlock.TITLE: "Say what has happened, in a line.",
            IssueBlock.OWNER: "Choose who owns the issue.",
            IssueBlock.SEVERITY: "Choose how severe it is.",
        },
    )
    owner = _element(values, IssueBlock.OWNER).get("selected_user")
    if errors or owner is None:
        return None, errors
    new = NewIssue(
        key, _text(values, IssueBlock.TITLE), owner, _option(values, IssueBlock.SEVERITY), _day(values, IssueBlock.DUE)
    )
    return new, risks.issue_problems(new, today=today)


# --- lines ------------------------------------------------------------------------------------


def _risk_line(ctx: AppContext, session: Session, risk_id: int, today: date) -> risks.RiskLine:
    [line] = risks.risk_lines(session, risks.risks_by_id(session, [risk_id]), as_of=today, zone=_zone(ctx))
    return line


# --- lists ------------------------------------------------------------------------------------


def _scope(ctx: AppContext, actor: Actor, key: str | None, audience: partners.Audience) -> risks.RaidScope:
    with unit_of_work(ctx.session_factory) as session:
        if key is not None:
            partners.get_visible_project(session, key, audience)
        return risks.scope_for(session, actor, key)


def _list_key(ctx: AppContext, request: CommandRequest, subcommand: Subcommand) -> str | None:
    if len(request.args) > 1:
        raise subcommand.usage_error("Give at most one project key.")
    if request.args:
        return request.args[0].upper()
    with unit_of_work(ctx.session_factory) as session:
        return portfolio.linked_project_key(session, request.team_id, request.channel_id)


def _risk_list(
    ctx: AppContext, actor: Actor, key: str | None, page: int, audience: partners.Audience, *, now: datetime
) -> tuple[str, list]:
    scope = _scope(ctx, actor, key, audience)
    with unit_of_work(ctx.session_factory) as session:
        rows = risks.open_risks(session, scope.condition)
        lines = risks.risk_lines(session, rows, as_of=ctx.workspace_day(now), zone=_zone(ctx))
    return risk_list(scope.title, lines, page, key=scope.project_key)


def _issue_list(
    ctx: AppContext, actor: Actor, key: str | None, page: int, audience: partners.Audience, *, now: datetime
) -> tuple[str, list]:
    # `now` only to page like the risk list: an issue's line has no age.
    scope = _scope(ctx, actor, key, audience)
    with unit_of_work(ctx.session_factory) as session:
        lines = risks.issue_lines(risks.open_issues(session, scope.condition))
    return issue_list(scope.title, lines, page, key=scope.project_key)


def risks_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    key = _list_key(ctx, request, RISKS)
    audience = channel_audience(client, request.channel_id, request.team_id)
    text, blocks = _risk_list(ctx, request.actor, key, 0, audience, now=request.now)
    respond(text=text, blocks=blocks)


def issues_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    key = _list_key(ctx, request, ISSUES)
    audience = channel_audience(client, request.channel_id, request.team_id)
    text, blocks = _issue_list(ctx, request.actor, key, 0, audience, now=request.now)
    respond(text=text, blocks=blocks)


def decisions_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    key = _list_key(ctx, request, DECISIONS)
    scope = _scope(ctx, request.actor, key, channel_audience(client, request.channel_id, request.team_id))
    with unit_of_work(ctx.session_factory) as session:
        lines = decisions.lines(session, decisions.open_requests(session, scope.condition))
    text, blocks = decision_list(scope.title, lines, today=ctx.workspace_day(request.now))
    respond(text=text, blocks=blocks)


def _open_form(
    ctx: AppContext, request: CommandRequest, client: WebClient, subcommand: Subcommand, build: Callable
) -> None:
    if len(request.args) != 2 or request.args[0].lower() != "add":
        raise subcommand.usage_error("Which project is it for? Give its key after `add`.")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the form opens, so nobody fills in a form for a closed or unknown project.
        project = risks.check_project(session, request.args[1])
        view = build(project.key, project.name)
    client.views_open(trigger_id=request.trigger_id, view=view)


def risk_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    _open_form(ctx, request, client, RISK, new_risk_modal)


def issue_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    _open_form(ctx, request, client, ISSUE, new_issue_modal)


# --- DMs with risk cards ------------------------------------------------------------------------


def _redraw_dm(ctx: AppContext, key: str, now: datetime) -> None:
    """A DM with risk cards after a click on one: the daily nudge (drawn with the actions) or the check-in's."""
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.find(session, key)
        if row is None:
            return
        metadata = row.payload.get("metadata") or {}
        if metadata.get("event_type") != RAID_DM_EVENT:
            message = None
        else:
            message = changed_items_message(
                ctx, session, key, str(row.payload["channel"]), metadata["event_payload"], now=now
            )
    if message is None:
        if metadata.get("event_type") == ACTION_DM_EVENT:
            redraw_action_dm(ctx, key, now=now)
        return
    post_or_update(ctx, message, now=now)


def _after_change(
    ctx: AppContext, ref: RiskRef, actor: Actor, body: dict, client: WebClient, respond: Respond, now: datetime
) -> None:
    if ref.shown_in == DM:
        if ref.key:
            _redraw_dm(ctx, ref.key, now)
        return
    audience = channel_audience(client, (body.get("channel") or {}).get("id", "D"), body["team"]["id"])
    text, blocks = _risk_list(ctx, actor, ref.key, ref.page, audience, now=now)
    respond(text=text, blocks=blocks, replace_original=True)


# --- the check-in form --------------------------------------------------------------------------


# --- decisions ----------------------------------------------------------------------------------


def _decision_line(session: Session, request_id: int) -> decisions.DecisionLine:
    return decisions.lines(session, [decisions.get_request(session, request_id)])[0]


def register(app: App, ctx: AppContext) -> None:
    @app.view(RaidCallbackId.NEW_RISK)
    def submit_risk(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        metadata = NewRaidItem.from_json(view["private_metadata"])
        today = ctx.workspace_day(now)
        new, errors = _read_new_risk(metadata.project_key, view["state"]["values"], today)
        if new is None or errors:
            ack(response_action="errors", errors=errors)
            return
        with unit_of_work(ctx.session_factory) as session:
            risk = risks.create_risk(session, actor, new, today=today, now=now)
            claimed = claim_pmo_alert(ctx, session, risk, now=now)
            confirmation = risk_added_modal(_risk_line(ctx, session, risk.id, today), alerted=claimed is not None)
        ack(response_action="update", view=confirmation)
        if claimed is not None:
            deliver(ctx, claimed, now=now)

    @app.view(RaidCallbackId.NEW_ISSUE)
    def submit_issue(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        metadata = NewRaidItem.from_json(view["private_metadata"])
        today = ctx.workspace_day(now)
        new, errors = _read_new_issue(metadata.project_key, view["state"]["values"], today)
        if new is None or errors:
            ack(response_action="errors", errors=errors)
            return
        with unit_of_work(ctx.session_factory) as session:
            issue = risks.create_issue(session, actor, new, today=today, now=now)
            claimed = claim_pmo_alert(ctx, session, issue, now=now)
            confirmation = issue_added_modal(risks.issue_lines([issue])[0], alerted=claimed is not None)
        ack(response_action="update", view=confirmation)
        if claimed is not None:
            deliver(ctx, claimed, now=now)

    @app.action(RaidActionId.RISK_REVIEW)
    def open_review(ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = RiskRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            risks.check_can_review(session, actor, ref.risk_id)
            view = review_modal(_risk_line(ctx, session, ref.risk_id, ctx.workspace_day(now)), ref)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(RaidCallbackId.RISK_REVIEW)
    def submit_review(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = RiskRef.from_json(view["private_metadata"])
        values = view["state"]["values"]
        probability, impact = _score(values, RiskBlock.PROBABILITY), _score(values, RiskBlock.IMPACT)
        next_review, today = _day(values, RiskBlock.NEXT_REVIEW), ctx.workspace_day(now)
        errors = risks.review_problems(probability, impact, next_review, today=today)
        if errors or next_review is None:
            ack(response_action="errors", errors=errors)
            return
        with unit_of_work(ctx.session_factory) as session:
            risks.review(
                session,
                actor,
                ref.risk_id,
                probability=probability,
                impact=impact,
                next_review=next_review,
                today=today,
                now=now,
            )
            confirmation = reviewed_modal(_risk_line(ctx, session, ref.risk_id, today))
        ack(response_action="update", view=confirmation)
        if ref.shown_in == DM and ref.key:
            _redraw_dm(ctx, ref.key, now)

    @app.action(RaidActionId.RISK_CLOSE)
    def close(
        ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond, now: datetime
    ) -> None:
        ack()
        ref = RiskRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            risks.close(session, actor, ref.risk_id, now=now)
        _after_change(ctx, ref, actor, body, client, respond, now)

    @app.action(RaidActionId.ISSUE_CLOSE)
    def close_issue(
        ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond, now: datetime
    ) -> None:
        ack()
        ref = IssueRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            risks.close_issue(session, actor, ref.issue_id, now=now)
        if ref.shown_in == DM:
            if ref.key:
                _redraw_dm(ctx, ref.key, now)
            return
        audience = channel_audience(client, (body.get("channel") or {}).get("id", "D"), body["team"]["id"])
        text, blocks = _issue_list(ctx, actor, ref.key, ref.page, audience, now=now)
        respond(text=text, blocks=blocks, replace_original=True)

    @app.action(RaidActionId.RISK_ADD_NOTE)
    def open_note(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = RiskRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            title = risks.get_risk(session, ref.risk_id).title
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(ref, title))

    @app.view(RaidCallbackId.RISK_NOTE)
    def submit_note(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = RiskRef.from_json(view["private_metadata"])
        note = _text(view["state"]["values"], RiskBlock.NOTE)
        if not note:
            ack(response_action="errors", errors={RiskBlock.NOTE: "Write the note, or cancel."})
            return
        with unit_of_work(ctx.session_factory) as session:
            title = risks.add_note(session, actor, ref.risk_id, note, now=now).title
        ack(response_action="update", view=note_added_modal(title))

    @app.action(RaidActionId.ISSUE_ADD_NOTE)
    def open_issue_note(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = IssueRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            title = risks.get_issue(session, ref.issue_id).title
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(ref, title))

    @app.view(RaidCallbackId.ISSUE_NOTE)
    def submit_issue_note(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = IssueRef.from_json(view["private_metadata"])
        note = _text(view["state"]["values"], IssueBlock.NOTE)
        if not note:
            ack(response_action="errors", errors={IssueBlock.NOTE: "Write the note, or cancel."})
            return
        with unit_of_work(ctx.session_factory) as session:
            title = risks.add_issue_note(session, actor, ref.issue_id, note, now=now).title
        ack(response_action="update", view=note_added_modal(title))
        if ref.shown_in == DM and ref.key:
            _redraw_dm(ctx, ref.key, now)  # the card in the DM shows the latest notes

    def turn_page(lister: Callable) -> Callable:
        def listener(
            ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond
        ) -> None:
            ack()
            page = RaidPage.from_json(action["value"])
            audience = channel_audience(client, (body.get("channel") or {}).get("id", "D"), body["team"]["id"])
            text, blocks = lister(ctx, actor, page.key, page.page, audience, now=now)
            respond(text=text, blocks=blocks, replace_original=True)

        return listener

    app.action(RaidActionId.RISKS_PREVIOUS_PAGE)(turn_page(_risk_list))
    app.action(RaidActionId.RISKS_NEXT_PAGE)(turn_page(_risk_list))
    app.action(RaidActionId.ISSUES_PREVIOUS_PAGE)(turn_page(_issue_list))
    app.action(RaidActionId.ISSUES_NEXT_PAGE)(turn_page(_issue_list))

    @app.action(RaidActionId.DECISION_NEEDED)
    def open_decision_needed(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        subject = DecisionSubject.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            found = decisions.draft(session, subject.subject_key)
        view = decision_needed_modal(subject, question=found.question, decider=found.decider_user_id)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(RaidCallbackId.DECISION_NEEDED)
    def submit_decision_needed(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        subject = DecisionSubject.from_json(view["private_metadata"])
        values = view["state"]["values"]
        errors = _missing(
            values,
            {
                DecisionBlock.QUESTION: "Say what needs deciding.",
                DecisionBlock.DECIDER: "Choose who decides.",
                DecisionBlock.DUE: "Choose by when.",
            },
        )
        decider, due = _element(values, DecisionBlock.DECIDER).get("selected_user"), _day(values, DecisionBlock.DUE)
        if errors or decider is None or due is None:
            ack(response_action="errors", errors=errors)
            return
        today = ctx.workspace_day(now)
        with unit_of_work(ctx.session_factory) as session:
            request = decisions.raise_request(
                session,
                actor,
                subject.subject_key,
                question=_text(values, DecisionBlock.QUESTION),
                decider_user_id=decider,
                due=due,
                today=today,
                now=now,
            )
            text, blocks = decision_request_dm(_decision_line(session, request.id), today=today)
            claimed = claim(
                session, chat_message(message_keys.decision_requested(request.id), decider, text, blocks), now=now
            )
        ack(
            response_action="update",
            view=decision_asked_modal(decider, due),
        )
        if claimed is not None:
            deliver_dm(ctx, claimed, now=now)
        refresh_home(ctx, [decider], now)  # the decider's Home tab lists the decisions waiting for them

    @app.action(RaidActionId.DECISION_RECORD)
    def open_record(ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = DecisionRef.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            decisions.check_can_record(session, actor, ref.request_id)
            view = record_decision_modal(_decision_line(session, ref.request_id), today=ctx.workspace_day(now))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(RaidCallbackId.DECISION_RECORD)
    def submit_record(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = DecisionRef.from_json(view["private_metadata"])
        outcome = _text(view["state"]["values"], DecisionBlock.OUTCOME)
        if not outcome:
            ack(response_action="errors", errors={DecisionBlock.OUTCOME: "Say what was decided."})
            return
        today = ctx.workspace_day(now)
        with unit_of_work(ctx.session_factory) as session:
            request = decisions.record(session, actor, ref.request_id, outcome, now=now)
            line = _decision_line(session, request.id)
            text, blocks = decision_request_dm(line, today=today)
        ack(
            response_action="update",
            view=decision_recorded_modal(outcome),
        )
        post_or_update(
            ctx,
            chat_message(message_keys.decision_requested(line.request_id), line.decider_user_id, text, blocks),
            now=now,
        )
        refresh_home(ctx, [line.decider_user_id], now)


RISK = Subcommand(
    name="risk",
    handler=risk_command,
    usages=(
        Usage(
            "/pmo risk add KEY",
            "add a risk to a project's RAID log: a form (owner, probability and impact 1-5, response, review date)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo risk add CRM-2",
        ),
    ),
)

RISKS = Subcommand(
    name="risks",
    handler=risks_command,
    usages=(
        Usage(
            "/pmo risks [KEY]",
            "open risks, highest score first, with Review, Close and Add note (no KEY: this channel's project, "
            "else the projects you sponsor or lead)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo risks CRM-2",
        ),
    ),
)

ISSUE = Subcommand(
    name="issue",
    handler=issue_command,
    usages=(
        Usage(
            "/pmo issue add KEY",
            "add an issue to a project's RAID log: a form (owner, severity, due date)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo issue add CRM-2",
        ),
    ),
)

ISSUES = Subcommand(
    name="issues",
    handler=issues_command,
    usages=(
        Usage(
            "/pmo issues [KEY]",
            "open issues, most severe first, with Close, Add note and their latest notes (no KEY: as for risks)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo issues CRM-2",
        ),
    ),
)

DECISIONS = Subcommand(
    name="decisions",
    handler=decisions_command,
    usages=(
        Usage(
            "/pmo decisions [KEY]",
            "decisions asked for and not yet recorded, with their age (no KEY: as for risks)",
            audience=HelpAudience.SPONSORS,
            example="/pmo decisions CRM-2",
        ),
    ),
)

SUBCOMMANDS = (RISK, RISKS, ISSUE, ISSUES, DECISIONS)
