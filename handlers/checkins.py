"""Weekly check-ins in Slack: prompts, the form, reminders, misses and who hears about them."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import checkins, confidence, cost, message_keys, milestones, outbox, portfolio
from bot.services.access import Actor
from bot.services.checkins import CheckinInput, DuePrompt, Overdue, Submission
from handlers.blocks import checkins as blocks
from handlers.blocks.actions import HelpActionTarget
from handlers.blocks.checkins import BenefitQuestion, FormAnswers, FormTarget, SummaryLines
from handlers.blocks.cost import costs_in
from handlers.blocks.milestones import forecasts_in
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import (
    ClaimedMessage,
    chat_message,
    claim,
    deliver,
    deliver_to_channel,
    escalate,
    fan_out,
    post_or_update,
    send_dm_once,
    send_once,
)
from handlers.escalations import settle_alert
from handlers.home import refresh_home
from handlers.ids import ActionId, CallbackId, CheckinBlock
from handlers.milestones import send_slip_notices
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
            last.overall_rag.value if last else None,
            project.lead.slack_user_id if project.lead else None,
        )
        message = chat_message(
            checkins.prompt_key(project.id, prompt.period),
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
        for overdue in checkins.take_due_reminders(session, now=now, after=after):
            claimed += _claim_reminders(session, overdue, now)
    for message in claimed:
        deliver(ctx, message, now=now)


def _claim_reminders(session: Session, overdue: Overdue, now: datetime) -> list[ClaimedMessage]:
    requests = []
    text, dm_blocks = blocks.reminder_dm(overdue.project_key, overdue.project_name, overdue.period)
    for lead in overdue.lead_user_ids:
        key = message_keys.checkin_reminder(overdue.project_id, overdue.period, lead)
        requests.append(chat_message(key, lead, text, dm_blocks))
    prompt = outbox.sent_message(session, checkins.prompt_key(overdue.project_id, overdue.period))
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
        missed = checkins.take_due_misses(session, now=now, after=after, tolerance=ctx.settings.benefit_tolerance)
    for overdue in missed:
        escalate(ctx, checkins.missed_cause(overdue), project_id=overdue.project_id, now=now)


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


def _open_form(ctx: AppContext, client: WebClient, trigger_id: str, key: str, period: str | None, actor: Actor) -> None:
    with unit_of_work(ctx.session_factory) as session:
        project = portfolio.get_project(session, key)
        _require_can_update(ctx, client, project, actor)
        period = period or checkins.current_period(
            project, now=ctx.clock(), default_cadence=ctx.settings.default_cadence
        )
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
            last.overall_rag.value if last else None,
            questions,
            more=max(0, len(benefits) - len(questions)),
            answers=answers,
            milestones=milestones.form_milestones(session, project, today=ctx.workspace_today()),
            costs=cost.form_costs(
                session,
                project,
                period,
                today=ctx.workspace_today(),
                start_month=ctx.settings.financial_year_start,
                tolerance=ctx.settings.cost_tolerance,
            ),
            scale=ctx.settings.confidence_scale,
        )
    client.views_open(trigger_id=trigger_id, view=view)


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
    _open_form(ctx, client, request.trigger_id, key, None, request.actor)


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
    )


def _after_submission(ctx: AppContext, submission: Submission, submitted_by: str, now: datetime) -> None:
    """What the team, the PMO and the sponsor see once a check-in is stored."""
    key, period = submission.project_key, submission.period
    with unit_of_work(ctx.session_factory) as session:
        project = session.get_one(Project, submission.project_id)
        checkin = session.get_one(Checkin, submission.checkin_id)
        prompt = outbox.sent_message(session, checkins.prompt_key(project.id, period))
        primary = portfolio.primary_channel(project)
        summary = _summary_lines(checkin, project)
        name = project.name
        help_needed = checkin.help_needed
        words = blocks.SponsorWords(checkin.progress, checkin.path_to_green, checkin.help_needed)
        help_action = HelpActionTarget(key, checkin.id) if help_needed and project.sponsor else None
        # Their Home tabs show the project's status and its pending check-in.
        home_readers = (
            submitted_by,
            submission.sponsor_user_id,
            project.lead.slack_user_id if project.lead else None,
            portfolio.deputy_user_id(project),
        )
    if prompt is not None:
        answered = blocks.answered_prompt_blocks(
            key, name, period, submission.overall.value, submitted_by, submission.revision
        )
        prompt_key = checkins.prompt_key(submission.project_id, period)
        post_or_update(ctx, chat_message(prompt_key, prompt[0], blocks.prompt_text(key, period), answered), now=now)
    summary_channel = prompt[0] if prompt else (primary.channel_id if primary else None)
    if summary_channel is not None:
        thread = {"thread_ts": prompt[1]} if prompt else {}
        text = blocks.summary_text(key, period, submission.overall.value)
        summary_blocks = blocks.summary_blocks(
            summary, submitted_by, submission.revision, help_action=help_action, changed=submission.changed
        )
        message = chat_message(
            message_keys.checkin_summary(submission.checkin_id), summary_channel, text, summary_blocks, **thread
        )
        send_once(ctx, message, now=now)
    for cause in submission.causes:
        escalate(ctx, cause, project_id=submission.project_id, now=now)
    for cause_key in submission.cleared_cause_keys:
        settle_alert(ctx, cause_key, checkins.amended_settlement(submission.overall), now=now)
    if submission.answered_late:
        how = checkins.late_settlement(submitted_by, submission.overall)
        settle_alert(ctx, checkins.missed_cause_key(key, period), how, now=now)
    sponsor = submission.sponsor_user_id
    turned_red = submission.tell_sponsor_turned_red
    asks_help = submission.tell_sponsor_help and bool(help_needed)
    if sponsor and (turned_red or asks_help):
        # One DM for one check-in, however many reasons the sponsor has to read it.
        text = blocks.sponsor_dm(key, name, period, words, turned_red=turned_red)
        dm_key = (
            message_keys.sponsor_red(submission.project_id, period)
            if turned_red
            else message_keys.sponsor_help(submission.project_id, period)
        )
        send_dm_once(ctx, chat_message(dm_key, sponsor, text), now=now)
    refresh_home(ctx, home_readers, now)


def _summary_lines(checkin: Checkin, project: Project) -> SummaryLines:
    units = {benefit.id: (benefit.name, benefit.unit) for benefit in project.benefits}
    reported = [
        (units[value.benefit_id][0], f"{value.value.normalize():f} {units[value.benefit_id][1]}")
        for benefit in project.benefits
        for value in benefit.values
        if value.checkin_id == checkin.id
    ]
    return SummaryLines(
        overall=checkin.overall_rag.value,
        schedule=checkin.schedule_rag.value if checkin.schedule_rag else None,
        cost=checkin.cost_rag.value if checkin.cost_rag else None,
        scope=checkin.scope_rag.value if checkin.scope_rag else None,
        progress=checkin.progress,
        next_steps=checkin.next_steps,
        risks_issues=checkin.risks_issues,
        help_needed=checkin.help_needed,
        path_to_green=checkin.path_to_green,
        path_to_green_date=checkin.path_to_green_date,
        benefit_values=reported,
    )


def register(app: App, ctx: AppContext) -> None:
    @app.action(ActionId.SUBMIT_CHECKIN)
    def submit_button(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        target = FormTarget.from_json(action["value"])
        _open_form(ctx, client, body["trigger_id"], target.project_key, target.period, actor)

    @app.view(CallbackId.CHECKIN)
    def submit_form(ack: Ack, actor: Actor, body: dict, view: dict, client: WebClient) -> None:
        user_id = body["user"]["id"]
        target = FormTarget.from_json(view["private_metadata"])
        form = _parse_form(view["state"]["values"])
        now = ctx.clock()
        costs, cost_problems = cost.parse_amounts(costs_in(view["state"]["values"]))
        found = checkins.problems(form, today=now.date()) | cost_problems
        if found:
            ack(response_action="errors", errors=found)
            return
        with unit_of_work(ctx.session_factory) as session:
            project = portfolio.get_project(session, target.project_key)
            _require_can_update(ctx, client, project, actor)
            submission = checkins.submit(
                session, project, actor, target.period, form, now=now, tolerance=ctx.settings.benefit_tolerance
            )
            milestones.update_forecasts(session, project, forecasts_in(view["state"]["values"]), now=now)
            cost.record_costs(
                session,
                project,
                costs,
                reported_by=actor.slack_user_id,
                today=ctx.workspace_today(),
                start_month=ctx.settings.financial_year_start,
                now=now,
            )
        ack()
        _after_submission(ctx, submission, user_id, now)
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
