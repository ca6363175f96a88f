"""Weekly check-ins in Slack: prompts, the form, reminders, misses and who hears about them."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import checkins, coaching, confidence, cost, message_keys, milestones, outbox, portfolio, risks
from bot.services.access import Actor
from bot.services.checkins import CheckinInput, DuePrompt, Overdue
from handlers.blocks import checkins as blocks
from handlers.blocks.checkins import BenefitQuestion, FormAnswers, FormTarget, LastStatus
from handlers.blocks.coaching import LessonsLink
from handlers.blocks.cost import costs_in
from handlers.blocks.milestones import forecasts_in
from handlers.blocks.risks import checkin_confirmations
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import (
    ClaimedMessage,
    chat_message,
    claim,
    deliver,
    deliver_dm,
    deliver_to_channel,
    fan_out,
)
from handlers.ids import ActionId, CallbackId, CheckinBlock
from handlers.outcomes import claim_changed_items, deliver_owed, send_slip_notices, sent_to_pmo_instead
from storage.models import Checkin, Project, Rag
from storage.session import unit_of_work

log = logging.getLogger(__name__)


# --- scheduled work ------------------------------------------------------------------------


def send_checkin_prompts(ctx: AppContext, now: datetime) -> None:
    """Post every prompt due at `now`, paced under Slack's rate limit, each exactly once."""
    with unit_of_work(ctx.session_factory) as session:
        due = checkins.due_prompts(session, now=now, default_cadence=ctx.settings.default_cadence)
    fan_out(ctx, due, lambda prompt: _send_prompt(ctx, prompt, now))


def _send_prompt(ctx: AppContext, prompt: DuePrompt, now: datetime) -> None:
    with unit_of_work(ctx.session_factory) as session:
        if not checkins.claim_prompt(session, prompt, now=now):
            return
        if checkins.too_late_to_prompt(
            prompt, now=now, missed_after=timedelta(hours=ctx.settings.checkin_missed_hours)
        ):
            checkins.excuse_period(session, prompt.project_id, prompt.period, checkins.PROMPT_TOO_LATE)
            log.info("check-in prompt for %s %s not sent: due %s", prompt.project_key, prompt.period, prompt.due_at)
            return
        project = session.get_one(Project, prompt.project_id)
        last = checkins.last_status_before(session, project.id, prompt.period)
        prompt_blocks = blocks.prompt_blocks(
            project.key,
            project.name,
            prompt.period,
            _last_status(last),
            project.lead.slack_user_id if project.lead else None,
            scale=ctx.settings.confidence_scale,
        )
        message = chat_message(
            message_keys.checkin_prompt(project.id, prompt.period),
            prompt.channel_id,
            blocks.prompt_text(project.key, prompt.period),
            prompt_blocks,
        )
        claimed = claim(session, message, now=now)
    if claimed is None:
        return
    what = f"check-in prompt for {prompt.period}"
    deliver_to_channel(ctx, claimed, prompt, what=what, now=now, period=prompt.period)


def send_checkin_reminders(ctx: AppContext, now: datetime) -> None:
    """One DM per lead/deputy and one thread note, for periods unanswered after the reminder delay."""
    after = timedelta(hours=ctx.settings.checkin_reminder_hours)
    claimed: list[ClaimedMessage] = []
    with unit_of_work(ctx.session_factory) as session:
        due = checkins.take_due_reminders(session, now=now, after=after)
        for overdue in due:
            claimed += _claim_reminders(session, overdue, now)
    for message in claimed:
        deliver(ctx, message, now=now)
    for unled in (overdue for overdue in due if not overdue.lead_user_ids):
        text, _dm_blocks = blocks.reminder_dm(unled.project_key, unled.project_name, unled.period)
        key = message_keys.checkin_reminder(unled.project_id, unled.period, "nobody")
        sent_to_pmo_instead(ctx, unled.project_id, "lead", key, text, now=now)


def _claim_reminders(session: Session, overdue: Overdue, now: datetime) -> list[ClaimedMessage]:
    requests = []
    text, dm_blocks = blocks.reminder_dm(overdue.project_key, overdue.project_name, overdue.period)
    for lead in overdue.lead_user_ids:
        key = message_keys.checkin_reminder(overdue.project_id, overdue.period, lead)
        requests.append(chat_message(key, lead, text, dm_blocks))
    prompt = outbox.sent_message(session, message_keys.checkin_prompt(overdue.project_id, overdue.period))
    if prompt is not None:
        channel, ts = prompt
        note = blocks.reminder_thread_note(overdue.period, overdue.lead_user_ids)
        key = message_keys.checkin_reminder_note(overdue.project_id, overdue.period)
        requests.append(chat_message(key, channel, note, thread_ts=ts))
    return [message for request in requests if (message := claim(session, request, now=now)) is not None]


def record_missed_checkins(ctx: AppContext, now: datetime) -> None:
    """Periods still unanswered after the missed delay are recorded as missed and escalated."""
    after = timedelta(hours=ctx.settings.checkin_missed_hours)
    with unit_of_work(ctx.session_factory) as session:
        owed = checkins.record_misses(session, now=now, after=after, tolerance=ctx.settings.benefit_tolerance)
    deliver_owed(ctx, owed, now=now)


# --- the form --------------------------------------------------------------------------------


def _in_a_project_channel(client: WebClient, project: Project, user_id: str) -> bool:
    for link in project.channel_links:
        cursor = None
        while True:
            try:
                page = client.conversations_members(channel=link.channel_id, cursor=cursor, limit=1000)
            except SlackApiError:
                break  # a channel the bot cannot read says nothing about membership
            if user_id in page.get("members", []):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    return False


def _require_can_update(ctx: AppContext, client: WebClient, project: Project, actor: Actor) -> None:
    team_member = checkins.is_team_member(actor, project)
    in_channel = not team_member and _in_a_project_channel(client, project, actor.slack_user_id)
    checkins.require_can_update(project, actor, is_team_member_=team_member, in_project_channel=in_channel)


def _open_form(
    ctx: AppContext, client: WebClient, trigger_id: str, key: str, period: str | None, actor: Actor, now: datetime
) -> None:
    with unit_of_work(ctx.session_factory) as session:
        project = portfolio.get_project(session, key)
        _require_can_update(ctx, client, project, actor)
        period = period or checkins.current_period(project, now=now, default_cadence=ctx.settings.default_cadence)
        last = checkins.last_status_before(session, project.id, period)
        amended = checkins.latest_checkin(session, project.id, period)
        answers = _answers(session, amended) if amended else None
        benefits = [b for b in project.benefits if b.is_active]
        questions = [
            BenefitQuestion(b.id, b.name, b.unit, b.target, b.target_date)
            for b in benefits[: checkins.MAX_BENEFITS_IN_FORM]
        ]
        view = blocks.checkin_modal(
            FormTarget(project.key, period),
            project.name,
            _last_status(last),
            questions,
            more=max(0, len(benefits) - len(questions)),
            answers=answers,
            raid=checkin_confirmations(
                *risks.confirmation_lines(
                    session, project.id, today=ctx.workspace_day(now), zone=ZoneInfo(ctx.settings.default_timezone)
                )
            ),
            lessons=_lessons_link(ctx, client, session, project, actor.slack_user_id, now=now),
            milestones=milestones.form_milestones(session, project, today=ctx.workspace_day(now)),
            costs=cost.form_costs(
                session,
                project,
                period,
                today=ctx.workspace_day(now),
                start_month=ctx.settings.financial_year_start,
                tolerance=ctx.settings.cost_tolerance,
            ),
            scale=ctx.settings.confidence_scale,
        )
    client.views_open(trigger_id=trigger_id, view=view)


def _lessons_link(
    ctx: AppContext, client: WebClient, session: Session, project: Project, user_id: str, *, now: datetime
) -> LessonsLink | None:
    """What the check-in form links to in the project's first four weeks (nothing after, or without lessons)."""
    if not coaching.links_to_lessons(project, now=now):
        return None
    found = coaching.starting_lessons(session, project.key, threshold=ctx.settings.overlap_threshold)
    if found is None:
        return None
    posted = outbox.sent_message(session, message_keys.starting_lessons(project.id, user_id))
    link = None
    if posted is not None:
        try:
            link = str(client.chat_getPermalink(channel=posted[0], message_ts=posted[1])["permalink"])
        except SlackApiError:
            link = None  # the form still names the projects to ask `/pmo lessons` about
    return LessonsLink(link, tuple(dict.fromkeys(lesson.from_project_key for lesson in found.lessons)))


def _last_status(last: Checkin | None) -> LastStatus | None:
    return LastStatus(last.overall_rag.value, last.confidence) if last else None


def _answers(session: Session, checkin: Checkin) -> FormAnswers:
    def rag(value: Rag | None) -> str | None:
        return value.value if value else None

    return FormAnswers(
        overall=checkin.overall_rag.value,
        confidence=checkin.confidence,
        schedule=rag(checkin.schedule_rag),
        cost=rag(checkin.cost_rag),
        scope=rag(checkin.scope_rag),
        progress=checkin.progress,
        next_steps=checkin.next_steps,
        risks_issues=checkin.risks_issues,
        help_needed=checkin.help_needed,
        escalate=checkin.escalate_to_pmo,
        path_to_green=checkin.path_to_green,
        path_to_green_date=checkin.path_to_green_date,
        benefit_values=checkins.checkin_benefit_values(session, checkin),
    )


def checkin_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) > 1:
        raise CHECKIN.usage_error("Which project? Give one key.")
    if request.args:
        key = request.args[0]
    else:
        with unit_of_work(ctx.session_factory) as session:
            key = portfolio.linked_project_key(session, request.team_id, request.channel_id)
    if key is None:
        raise CHECKIN.usage_error("This channel is not linked to a project: give its key.")
    _open_form(ctx, client, request.trigger_id, key, None, request.actor, request.now)


def _selected(values: dict, block_id: str) -> str | None:
    element = values.get(block_id, {}).get(block_id, {})
    option = element.get("selected_option")
    return option.get("value") if option else None


def _typed(values: dict, block_id: str) -> str | None:
    value = values.get(block_id, {}).get(block_id, {}).get("value")
    return value.strip() if value and value.strip() else None


def _parse_form(values: dict) -> CheckinInput:
    def rag(block_id: str) -> Rag | None:
        chosen = _selected(values, block_id)
        return Rag(chosen) if chosen else None

    picked_date = values.get(CheckinBlock.PATH_TO_GREEN_DATE, {}).get(CheckinBlock.PATH_TO_GREEN_DATE, {})
    escalate_choice = values.get(CheckinBlock.ESCALATE, {}).get(CheckinBlock.ESCALATE, {})
    benefit_values = {
        int(block_id.split(":", 1)[1]): (values[block_id][block_id].get("value") or "")
        for block_id in values
        if block_id.startswith("benefit:")
    }
    overall, given_confidence = confidence.read_answer(_selected(values, CheckinBlock.OVERALL))
    return CheckinInput(
        overall=overall,
        confidence=given_confidence,
        schedule=rag(CheckinBlock.SCHEDULE),
        cost=rag(CheckinBlock.COST),
        scope=rag(CheckinBlock.SCOPE),
        progress=_typed(values, CheckinBlock.PROGRESS),
        next_steps=_typed(values, CheckinBlock.NEXT_STEPS),
        risks_issues=_typed(values, CheckinBlock.RISKS),
        help_needed=_typed(values, CheckinBlock.HELP),
        escalate_to_pmo=bool(escalate_choice.get("selected_options")),
        path_to_green=_typed(values, CheckinBlock.PATH_TO_GREEN),
        path_to_green_date=date.fromisoformat(picked_date["selected_date"])
        if picked_date.get("selected_date")
        else None,
        benefit_values=benefit_values,
        forecasts=forecasts_in(values),
    )


def register(app: App, ctx: AppContext) -> None:
    @app.action(ActionId.SUBMIT_CHECKIN)
    def submit_button(ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient) -> None:
        ack()
        target = FormTarget.from_json(action["value"])
        _open_form(ctx, client, body["trigger_id"], target.project_key, target.period, actor, now)

    @app.view(CallbackId.CHECKIN)
    def submit_form(ack: Ack, actor: Actor, now: datetime, view: dict, client: WebClient) -> None:
        target = FormTarget.from_json(view["private_metadata"])
        form = _parse_form(view["state"]["values"])
        costs, cost_problems = cost.parse_amounts(costs_in(view["state"]["values"]))
        found = checkins.problems(form, today=ctx.workspace_day(now)) | cost_problems
        if found:
            ack(response_action="errors", errors=found)
            return
        with unit_of_work(ctx.session_factory) as session:
            project = portfolio.get_project(session, target.project_key)
            _require_can_update(ctx, client, project, actor)
            answered = checkins.answer(
                session, project, actor, target.period, form, now=now, tolerance=ctx.settings.benefit_tolerance
            )
            raid_changed = claim_changed_items(
                ctx, session, answered.submission.checkin_id, actor.slack_user_id, view["state"]["values"], now=now
            )
            cost.record_costs(
                session,
                project,
                costs,
                reported_by=actor.slack_user_id,
                today=ctx.workspace_day(now),
                start_month=ctx.settings.financial_year_start,
                now=now,
            )
        ack()
        deliver_owed(ctx, answered.owed, now=now)
        if raid_changed is not None:
            deliver_dm(ctx, raid_changed, now=now)
        send_slip_notices(ctx, now)


CHECKIN = Subcommand(
    name="checkin",
    handler=checkin_command,
    usages=(
        Usage(
            "/pmo checkin [KEY]",
            "open this week's check-in form for a project, any time (no KEY: this channel's project)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo checkin CRM-2",
        ),
    ),
)

SUBCOMMANDS = (CHECKIN,)
