"""Decide, then deliver: the one step that sends what a domain operation decided it owes.

A service changes the records and returns what it owes people as data (`bot.services.owed`);
`deliver_owed` renders each item with its Block Kit builder and sends it through the delivery
core (`handlers.delivery`), in the order given. Listeners and jobs call it once with what their
one domain call returned, so no feature climbs back up into another to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import coaching, message_keys, milestones, risks
from bot.services.coaching import AccountableRole, OwnerQuestion
from bot.services.milestones import SlipNotice
from bot.services.outbox import OutgoingRequest
from bot.services.owed import AlertChanged, CheckinSummary, HomeRefresh, Owed, PromptAnswered, SponsorDm
from handlers.blocks import checkins as checkin_blocks
from handlers.blocks import coaching as coaching_blocks
from handlers.blocks.actions import HelpActionTarget
from handlers.blocks.checkins import SponsorWords, SummaryLines
from handlers.blocks.milestones import slip_notice_blocks, slip_notice_text
from handlers.blocks.risks import (
    RAID_DM_EVENT,
    DecisionSubject,
    changed_items_dm,
    confirm_block_id,
    issue_alert,
    risk_alert,
)
from handlers.delivery import (
    ClaimedMessage,
    chat_message,
    claim,
    deliver_dm,
    deliver_to_channel,
    post_or_update,
    publish_alert,
    refresh_home,
    send_dm_once,
    send_once,
)
from storage.models import Checkin, Issue, Project, Rag, Risk
from storage.session import unit_of_work


def deliver_owed(ctx: AppContext, owed: Iterable[Owed], *, now: datetime) -> None:
    """Render and send each owed message, in order; each goes through the ledger under its key."""
    for item in owed:
        match item:
            case PromptAnswered():
                _prompt_answered(ctx, item, now=now)
            case CheckinSummary():
                _checkin_summary(ctx, item, now=now)
            case AlertChanged():
                publish_alert(ctx, item.escalation_id, now=now)
            case SponsorDm():
                _sponsor_dm(ctx, item, now=now)
            case HomeRefresh():
                refresh_home(ctx, item.user_ids, now)


def _prompt_answered(ctx: AppContext, owed: PromptAnswered, *, now: datetime) -> None:
    answered = checkin_blocks.answered_prompt_blocks(
        owed.project_key,
        owed.project_name,
        owed.period,
        owed.overall.value,
        owed.answered_by,
        owed.revision,
        scale=ctx.settings.confidence_scale,
        given_level=owed.confidence,
    )
    text = checkin_blocks.prompt_text(owed.project_key, owed.period)
    key = message_keys.checkin_prompt(owed.project_id, owed.period)
    post_or_update(ctx, chat_message(key, owed.channel_id, text, answered), now=now)


def _checkin_summary(ctx: AppContext, owed: CheckinSummary, *, now: datetime) -> None:
    with unit_of_work(ctx.session_factory) as session:
        checkin = session.get_one(Checkin, owed.checkin_id)
        lines = _summary_lines(session, checkin)
        # A Red check-in asking for help can be raised as a decision needed, from its summary.
        asks_decision = bool(checkin.help_needed) and checkin.overall_rag is Rag.RED
    help_action = HelpActionTarget(owed.project_key, owed.checkin_id) if owed.offers_help_action else None
    decision = DecisionSubject(f"checkin:{owed.checkin_id}") if asks_decision else None
    scale = ctx.settings.confidence_scale
    blocks = checkin_blocks.summary_blocks(
        lines,
        owed.answered_by,
        owed.revision,
        scale=scale,
        help_action=help_action,
        changed=list(owed.changed),
        decision=decision,
        forecasts_moved=list(owed.forecasts_moved),
    )
    text = checkin_blocks.summary_text(
        owed.project_key, owed.period, owed.overall.value, scale=scale, given_level=lines.confidence
    )
    thread = {"thread_ts": owed.thread_ts} if owed.thread_ts else {}
    key = message_keys.checkin_summary(owed.checkin_id)
    send_once(ctx, chat_message(key, owed.channel_id, text, blocks, **thread), now=now)


def _summary_lines(session: Session, checkin: Checkin) -> SummaryLines:
    """What a check-in's summary shows: its answers and the benefit values given with it."""
    project = session.get_one(Project, checkin.project_id)
    units = {benefit.id: (benefit.name, benefit.unit) for benefit in project.benefits}
    reported = [
        (units[value.benefit_id][0], f"{value.value.normalize():f} {units[value.benefit_id][1] or ''}".rstrip())
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
        confidence=checkin.confidence,
    )


def _sponsor_dm(ctx: AppContext, owed: SponsorDm, *, now: datetime) -> None:
    words = SponsorWords(owed.progress, owed.path_to_green, owed.help_needed)
    text = checkin_blocks.sponsor_dm(
        owed.project_key,
        owed.project_name,
        owed.period,
        words,
        turned_red=owed.turned_red,
        scale=ctx.settings.confidence_scale,
        given_level=owed.confidence,
    )
    # Without a sponsor who is still here, the PMO reads it instead of nobody.
    if sent_to_pmo_instead(ctx, owed.project_id, "sponsor", owed.idempotency_key, text, now=now):
        return
    if owed.sponsor_user_id:
        send_dm_once(ctx, chat_message(owed.idempotency_key, owed.sponsor_user_id, text), now=now)


# --- the RAID items a check-in said changed -------------------------------------------------------


def changed_items_message(
    ctx: AppContext, session: Session, key: str, recipient: str, payload: dict[str, Any], *, now: datetime
) -> OutgoingRequest:
    """The DM with the cards of the risks and issues a check-in said changed, drawn from the records."""
    zone = ZoneInfo(ctx.settings.default_timezone)
    lines = risks.lines_by_id(session, payload["risk_ids"], as_of=ctx.workspace_day(now), zone=zone)
    issue_rows = risks.open_issues(session, Issue.id.in_(payload["issue_ids"]))
    text, blocks = changed_items_dm(lines, risks.issue_lines(issue_rows), key=key)
    metadata = {"event_type": RAID_DM_EVENT, "event_payload": payload}
    return chat_message(key, recipient, text, blocks, metadata=metadata)


def claim_changed_items(
    ctx: AppContext, session: Session, checkin_id: int, submitted_by: str, values: dict[str, Any], *, now: datetime
) -> ClaimedMessage | None:
    """After a check-in: the items whose "still accurate?" box was unticked, as cards in a DM to the submitter.

    Unticked means changed: the DM carries each one's card (a risk's with Review, Close and Add note),
    so the update is one click away rather than typed into the check-in.
    """
    risk_ids: list[int] = []
    issue_ids: list[int] = []
    prefix = confirm_block_id("")
    for block_id, inputs in values.items():
        if not block_id.startswith(prefix) or inputs.get(block_id, {}).get("selected_options"):
            continue
        kind, _, number = block_id.removeprefix(prefix).partition(":")
        (risk_ids if kind == "risk" else issue_ids).append(int(number))
    if not risk_ids and not issue_ids:
        return None
    key = message_keys.raid_changed(checkin_id)
    payload = {"risk_ids": sorted(risk_ids), "issue_ids": sorted(issue_ids)}
    return claim(session, changed_items_message(ctx, session, key, submitted_by, payload, now=now), now=now)


def claim_pmo_alert(ctx: AppContext, session: Session, item: Risk | Issue, *, now: datetime) -> ClaimedMessage | None:
    """A new risk scoring 20+ or a new critical issue, from a form or an import: the PMO's one alert.

    Claimed in the transaction that records the item, so a crash after the commit leaves the
    claim for the retry job, and delivered once that commits; the key makes it one per item.
    """
    if not ctx.settings.pmo_channel_id or not risks.alerts_pmo(item):
        return None
    if isinstance(item, Risk):
        zone = ZoneInfo(ctx.settings.default_timezone)
        [risk_line] = risks.risk_lines(session, [item], as_of=ctx.workspace_day(now), zone=zone)
        key, (text, blocks) = message_keys.risk_alert(item.id), risk_alert(risk_line)
    else:
        [issue_line] = risks.issue_lines([item])
        key, (text, blocks) = message_keys.issue_alert(item.id), issue_alert(issue_line)
    return claim(session, chat_message(key, ctx.settings.pmo_channel_id, text, blocks), now=now)


# --- coaching: accountability kept with the owners, lessons at the start -----------------------------


def owner_question_message(question: OwnerQuestion) -> OutgoingRequest:
    return chat_message(
        message_keys.pmo_owner_question(question.action_id),
        question.ask_user_id,
        coaching_blocks.owner_question_text(question),
        coaching_blocks.owner_question_blocks(question),
    )


def ask_who_owns(ctx: AppContext, action_id: int, *, now: datetime) -> None:
    """Once per action: when it went to a PMO admin on someone else's project, ask whether the
    project's lead or sponsor should own it (whoever assigned it, or that PMO admin, is asked)."""
    with unit_of_work(ctx.session_factory) as session:
        question = coaching.owner_question(session, action_id, pmo_admin_ids=ctx.settings.pmo_admin_ids)
    if question is not None and question.choice is None:
        send_dm_once(ctx, owner_question_message(question), now=now)


def sent_to_pmo_instead(
    ctx: AppContext, project_id: int, role: AccountableRole, key: str, text: str, *, now: datetime
) -> bool:
    """A message for the project's `role` ("sponsor" or "lead") goes to the PMO channel, with the
    reason, when nobody holds that role or its holder has left; True when it went there."""
    with unit_of_work(ctx.session_factory) as session:
        gap = coaching.accountability_gap(session.get_one(Project, project_id))
    channel_id = ctx.settings.pmo_channel_id
    if gap is None or not gap.lacks(role) or channel_id is None:
        return False
    redirected_text = coaching_blocks.redirected_text(gap, role, text)
    redirected = chat_message(message_keys.nobody_accountable(key), channel_id, redirected_text)
    send_once(ctx, redirected, now=now)
    return True


def send_starting_lessons(ctx: AppContext, project_keys: Iterable[str], *, now: datetime) -> None:
    """New projects (form, import, sync): their lead and sponsor each get one DM with the lessons
    of closed projects like them, if there are any."""
    for key in project_keys:
        with unit_of_work(ctx.session_factory) as session:
            found = coaching.starting_lessons(session, key, threshold=ctx.settings.overlap_threshold)
        if found is None:
            continue
        text, dm_blocks = coaching_blocks.starting_lessons_text(found), coaching_blocks.starting_lessons_blocks(found)
        for recipient in found.recipient_user_ids:
            dm_key = message_keys.starting_lessons(found.project_id, recipient)
            send_dm_once(ctx, chat_message(dm_key, recipient, text, dm_blocks), now=now)


# --- dependencies: a milestone forecast past the date a dependent project needs it ----------------


def send_slip_notices(ctx: AppContext, now: datetime) -> None:
    """Tell each dependent project, once per slip, that a milestone it needs is now forecast too late.

    Scheduled work, and called straight after a forecast changes: the claim and the "told"
    mark share a transaction, so a crash between them neither loses nor doubles a notice.
    """
    with unit_of_work(ctx.session_factory) as session:
        due = milestones.due_slip_notices(session)
    for notice in due:
        _send_slip_notice(ctx, notice, now)


def _send_slip_notice(ctx: AppContext, notice: SlipNotice, now: datetime) -> None:
    text, blocks = slip_notice_text(notice), slip_notice_blocks(notice)
    to_channel: ClaimedMessage | None = None
    to_lead: ClaimedMessage | None = None
    with unit_of_work(ctx.session_factory) as session:
        if not milestones.record_slip_told(session, notice.dependency_id, notice.forecast):
            return
        if notice.channel_id is not None:
            key = message_keys.dependency_slip(notice.dependency_id, notice.forecast, "channel")
            to_channel = claim(session, chat_message(key, notice.channel_id, text, blocks), now=now)
        if notice.lead_user_id is not None:
            key = message_keys.dependency_slip(notice.dependency_id, notice.forecast, "lead")
            to_lead = claim(session, chat_message(key, notice.lead_user_id, text, blocks), now=now)
    if to_channel is not None and notice.team_id is not None and notice.channel_id is not None:
        target = _Target(notice.project_id, notice.project_key, notice.team_id, notice.channel_id)
        deliver_to_channel(ctx, to_channel, target, what="dependency slip notice", now=now)
    if to_lead is not None:
        deliver_dm(ctx, to_lead, now=now)


@dataclass(frozen=True)
class _Target:
    """The dependent project's channel, as the delivery core's broken-channel rule needs it."""

    project_id: int
    project_key: str
    team_id: str
    channel_id: str
