"""Incidents in Slack: declaring, impact notices, recording impact, updates, resolving, re-planning.

Service delivery takes priority: every affected project channel gets one impact notice,
each sponsor one DM, and the PMO one summary kept up to date in place. Every message goes
through the idempotency ledger, so a webhook retry, a second instance or the tick's safety
net never posts twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.errors import Conflict, UserError
from bot.services import (
    checkins,
    escalations,
    incident_replan,
    incident_views,
    incidents,
    live_services,
    message_keys,
    outbox,
)
from bot.services.access import Actor
from bot.services.incident_views import ChannelTarget
from bot.services.incidents import ChangeKind, ImpactInput, IncidentChange, NewIncident
from bot.services.outbox import OutgoingRequest
from handlers.blocks import incidents as blocks
from handlers.blocks.incidents import ImpactTarget
from handlers.commands import CommandRequest, Subcommand, Usage
from handlers.delivery import (
    chat_message,
    claim,
    deliver,
    deliver_to_channel,
    escalate,
    fan_out,
    post_or_update,
    publish_current,
    send_once,
)
from handlers.ids import ActionId, CallbackId, ImpactBlock, NewIncidentBlock
from handlers.outcomes import deliver_owed
from handlers.request import FormCheck, channel_audience, errors_on
from storage.models import Project
from storage.session import unit_of_work

log = logging.getLogger(__name__)


# --- sending, paced and once ---------------------------------------------------------------


def _send_paced(
    ctx: AppContext, request: OutgoingRequest, target: ChannelTarget | None, now: datetime, what: str
) -> None:
    """Claim (or take over a claim whose sender died), then send (the client paces it)."""
    with unit_of_work(ctx.session_factory) as session:
        claimed = claim(session, request, now=now, take_over=True)
    if claimed is None:
        return
    if target is None:
        deliver(ctx, claimed, now=now)
    else:
        deliver_to_channel(ctx, claimed, target, what=what, now=now)


def _unsent_channels(
    session: Session, key_of: Callable[[int, int], str], incident_id: int, *, now: datetime
) -> list[ChannelTarget]:
    """Affected channels whose message keyed by `key_of` (the notice, the re-plan) is not in the ledger
    yet, or was claimed by a sender that stopped before Slack answered (its lease expired)."""
    targets = incident_views.channel_targets(session, incident_id)
    keys = {target.project_id: key_of(incident_id, target.project_id) for target in targets}
    # Asked by exact key, so the ledger's unique index answers (a prefix LIKE would scan it).
    in_hand = outbox.keys_in_hand(session, list(keys.values()), now=now)
    return [target for target in targets if keys[target.project_id] not in in_hand]


def _unsent_sponsors(session: Session, incident_id: int, *, now: datetime) -> set[str]:
    keys = {
        sponsor: message_keys.incident_sponsor_dm(incident_id, sponsor)
        for sponsor in incident_views.sponsor_user_ids(session, incident_id)
    }
    in_hand = outbox.keys_in_hand(session, list(keys.values()), now=now)
    return {sponsor for sponsor, key in keys.items() if key not in in_hand}


def _declaration_unsent(session: Session, incident_id: int, *, now: datetime) -> bool:
    """Whether some message of the declaration (summary, notices, sponsor DMs) is not in hand in the ledger."""
    summary_key = message_keys.incident_summary(incident_id)
    return (
        summary_key not in outbox.keys_in_hand(session, [summary_key], now=now)
        or bool(_unsent_channels(session, message_keys.incident_notice, incident_id, now=now))
        or bool(_unsent_sponsors(session, incident_id, now=now))
    )


def _replans_unsent(session: Session, incident_id: int, *, now: datetime) -> bool:
    """Whether a re-plan message owed to an affected channel is not in hand in the ledger."""
    targets = _unsent_channels(session, message_keys.incident_replan, incident_id, now=now)
    unsent = {target.project_id for target in targets}
    return bool(unsent - incident_views.not_affected_project_ids(session, incident_id))


# --- what a declaration and a resolution send -----------------------------------------------


def announce(ctx: AppContext, change: IncidentChange, now: datetime) -> None:
    """Everything a declaration or resolution sends; safe to repeat (the ledger skips what went out)."""
    if change.kind is ChangeKind.DECLARED:
        announce_declared(ctx, change.incident_id, now)
    else:
        announce_resolved(ctx, change.incident_id, now)


def announce_declared(ctx: AppContext, incident_id: int, now: datetime) -> None:
    """The PMO summary, one impact notice per affected channel, one DM per sponsor."""
    with unit_of_work(ctx.session_factory) as session:
        view = incident_views.incident_view(session, incident_id)
        channels = _unsent_channels(session, message_keys.incident_notice, incident_id, now=now)
        sponsors = _unsent_sponsors(session, incident_id, now=now)
    publish_summary(ctx, incident_id, now)
    lines = {line.project_id: line for line in view.impacts}
    notices = [
        (
            chat_message(
                message_keys.incident_notice(incident_id, target.project_id),
                target.channel_id,
                blocks.notice_text(view, lines[target.project_id]),
                blocks.notice_blocks(view, lines[target.project_id]),
            ),
            target,
        )
        for target in channels
    ]
    what = f"impact notice for {view.key}"
    fan_out(ctx, notices, lambda item: _send_paced(ctx, item[0], item[1], now, what))
    # Rendered when each is sent, so a resolution arriving meanwhile is what they say.
    unsent = [sponsor for sponsor in incident_views.impacts_by_sponsor(view) if sponsor in sponsors]
    fan_out(ctx, unsent, lambda sponsor: _publish_sponsor_dm(ctx, incident_id, sponsor, now))
    with unit_of_work(ctx.session_factory) as session:
        if not _declaration_unsent(session, incident_id, now=now):
            incidents.mark_announced(session, incident_id, now=now)


def announce_resolved(ctx: AppContext, incident_id: int, now: datetime) -> None:
    """The PMO summary's final state, and a re-plan message in each channel that was affected."""
    with unit_of_work(ctx.session_factory) as session:
        view = incident_views.incident_view(session, incident_id)
        not_affected = {line.project_id for line in view.impacts if line.not_affected}
        channels = [
            target
            for target in _unsent_channels(session, message_keys.incident_replan, incident_id, now=now)
            if target.project_id not in not_affected
        ]
        default_cadence = ctx.settings.default_cadence
        periods = {
            target.project_id: checkins.current_period(
                session.get_one(Project, target.project_id), now=now, default_cadence=default_cadence
            )
            for target in channels
        }
    publish_summary(ctx, incident_id, now)
    _update_sponsor_dms(ctx, incident_id, incident_views.impacts_by_sponsor(view), now)
    assert view.duration is not None
    shift_days = incident_replan.days_to_shift(view.duration)
    lines = {line.project_id: line for line in view.impacts}
    replans = [
        (
            chat_message(
                message_keys.incident_replan(incident_id, target.project_id),
                target.channel_id,
                blocks.replan_text(view, lines[target.project_id]),
                blocks.replan_blocks(
                    view, lines[target.project_id], period=periods[target.project_id], shift_days=shift_days
                ),
            ),
            target,
        )
        for target in channels
    ]
    what = f"re-plan message for {view.key}"
    fan_out(ctx, replans, lambda item: _send_paced(ctx, item[0], item[1], now, what))
    with unit_of_work(ctx.session_factory) as session:
        if not _replans_unsent(session, incident_id, now=now):
            incidents.mark_replans_announced(session, incident_id, now=now)


def publish_summary(ctx: AppContext, incident_id: int, now: datetime) -> None:
    """The PMO channel's one message about the incident, posted once and then updated in place,
    always rendered from the incident as it stands when it is sent."""
    channel_id = ctx.settings.pmo_channel_id
    if channel_id is None:
        log.warning("PMO_CHANNEL_ID is not set, so the summary of incident %d is not posted", incident_id)
        return

    def render(session: Session) -> tuple[str, list]:
        view = incident_views.incident_view(session, incident_id)
        return blocks.summary_text(view), blocks.summary_blocks(view)

    publish_current(ctx, message_keys.incident_summary(incident_id), channel_id, render, now=now)


def _publish_sponsor_dm(ctx: AppContext, incident_id: int, sponsor: str, now: datetime) -> None:
    def render(session: Session) -> tuple[str, list]:
        view = incident_views.incident_view(session, incident_id)
        return blocks.sponsor_dm(view, incident_views.impacts_by_sponsor(view).get(sponsor, []))

    key = message_keys.incident_sponsor_dm(incident_id, sponsor)
    publish_current(ctx, key, sponsor, render, now=now, to_person=True)


def _update_sponsor_dms(ctx: AppContext, incident_id: int, sponsors: Iterable[str], now: datetime) -> None:
    """Sponsors' DMs already sent (or on their way) brought up to date, e.g. resolved with the total delay."""
    with unit_of_work(ctx.session_factory) as session:
        keys = {sponsor: message_keys.incident_sponsor_dm(incident_id, sponsor) for sponsor in sponsors}
        told = outbox.claimed_keys(session, list(keys.values()))
    for sponsor, key in keys.items():
        if key in told:
            _publish_sponsor_dm(ctx, incident_id, sponsor, now)


def send_pending_incident_messages(ctx: AppContext, now: datetime) -> None:
    """Scheduled safety net: what a declaration or resolution should have sent and did not (a crash,
    a restart mid-fan-out) goes out now."""
    with unit_of_work(ctx.session_factory) as session:
        # Only announcements not yet wholly in the ledger: once they are, its retries finish them.
        open_ids, resolved_ids = incident_views.to_announce(session, now=now)
        declared = [incident_id for incident_id in open_ids if _declaration_unsent(session, incident_id, now=now)]
        resolved = [incident_id for incident_id in resolved_ids if _replans_unsent(session, incident_id, now=now)]
    for incident_id in declared:
        announce_declared(ctx, incident_id, now)
    for incident_id in resolved:
        announce_resolved(ctx, incident_id, now)


# --- after a team records its impact ------------------------------------------------------------


def _after_impact_change(ctx: AppContext, change: incidents.ImpactChange, now: datetime) -> None:
    """The notice shows what the team said, the PMO summary and the sponsor's DM count it, and a
    priority ask escalates."""
    with unit_of_work(ctx.session_factory) as session:
        view = incident_views.incident_view(session, change.incident_id)
        cause = incidents.priority_cause(session, change)
        notice = outbox.find(session, message_keys.incident_notice(change.incident_id, change.project_id))
        notice_channel = notice.channel_id if notice is not None else None
    [line] = [line for line in view.impacts if line.project_id == change.project_id]
    if notice_channel is not None:
        key = message_keys.incident_notice(change.incident_id, change.project_id)
        notice_text, notice_blocks = blocks.notice_text(view, line), blocks.notice_blocks(view, line)
        post_or_update(ctx, chat_message(key, notice_channel, notice_text, notice_blocks), now=now)
    publish_summary(ctx, change.incident_id, now)
    if line.sponsor_user_id:
        _update_sponsor_dms(ctx, change.incident_id, [line.sponsor_user_id], now)
    if cause is not None:
        escalate(ctx, cause, project_id=change.project_id, now=now)
    if change.withdrew_priority:
        with unit_of_work(ctx.session_factory) as session:
            cause_key = message_keys.incident_priority_cause(change.incident_key, change.project_key)
            owed = escalations.settle_alert(session, cause_key, incidents.PRIORITY_WITHDRAWN, now=now)
        deliver_owed(ctx, owed, now=now)


# --- commands ---------------------------------------------------------------------------------


def incident_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    action = request.args[0].lower() if request.args else None
    if action is None:
        with unit_of_work(ctx.session_factory) as session:
            services = [(service.key, service.name) for service in live_services.all_services(session)]
        if not services:
            raise UserError("There are no services yet to declare an incident on: add one with `/pmo service add`.")
        client.views_open(trigger_id=request.trigger_id, view=blocks.declare_modal(services))
    elif action == "update":
        _post_update(ctx, client, request, respond)
    elif action == "resolve":
        if len(request.args) != 2:
            raise INCIDENT.usage_error("Which incident? Give its key, e.g. `/pmo incident resolve INC-7`.")
        respond(text=_resolve(ctx, client, request.actor, request.args[1], request.now))
    else:
        raise INCIDENT.usage_error(f"I don't know `/pmo incident {request.args[0]}`.")


def _service_team(ctx: AppContext, client: WebClient, actor: Actor, key: str) -> frozenset[str]:
    """The members of the Slack user groups running the incident's services (none asked for a PMO admin)."""
    with unit_of_work(ctx.session_factory) as session:
        usergroups = incidents.service_usergroups(session, key)
    if actor.is_pmo_admin:
        return frozenset()
    members: set[str] = set()
    for usergroup in usergroups:
        try:
            members.update(client.usergroups_users_list(usergroup=usergroup)["users"])
        except SlackApiError as error:  # a deleted group, or a workspace without the scope: nobody via that group
            log.warning("could not list user group %s for %s: %s", usergroup, key, error.response.get("error"))
    return frozenset(members)


def _resolve(ctx: AppContext, client: WebClient, actor: Actor, key: str, now: datetime) -> str:
    service_team = _service_team(ctx, client, actor, key)
    with unit_of_work(ctx.session_factory) as session:
        incidents.require_can_manage_incident(session, actor, key, service_team, "resolve it")
        change = incidents.resolve(session, key, now=now, default_cadence=ctx.settings.default_cadence)
    announce_resolved(ctx, change.incident_id, now)
    return (
        f"{change.key} is resolved. Each affected project channel is asked to re-plan, and the PMO summary is updated."
    )


def _post_update(ctx: AppContext, client: WebClient, request: CommandRequest, respond: Respond) -> None:
    parts = request.rest.split(maxsplit=2)
    if len(parts) < 3:
        raise INCIDENT.usage_error(
            "Give the incident's key and the update, e.g. `/pmo incident update INC-7 Fix deployed`."
        )
    _update, key, words = parts
    now = request.now
    # The command's trigger is unique to this invocation: the update's messages are keyed on it.
    update_id = hashlib.sha256(request.trigger_id.encode()).hexdigest()[:16]
    service_team = _service_team(ctx, client, request.actor, key)
    with unit_of_work(ctx.session_factory) as session:
        incidents.require_can_manage_incident(session, request.actor, key, service_team, "post updates on it")
        incident = incidents.get_incident(session, key)
        view = incident_views.incident_view(session, incident.id)
        targets = {target.channel_id: target for target in incident_views.channel_targets(session, incident.id)}
        threads = [
            (line.project_id, sent)
            for line in view.affected
            if (sent := outbox.sent_message(session, message_keys.incident_notice(incident.id, line.project_id)))
        ]
        summary = outbox.sent_message(session, message_keys.incident_summary(incident.id))
    text = blocks.update_text(view, words, request.user_id)
    requests: list[tuple[OutgoingRequest, ChannelTarget | None]] = [
        (
            chat_message(message_keys.incident_update(incident.id, update_id, project_id), channel, text, thread_ts=ts),
            targets.get(channel),
        )
        for project_id, (channel, ts) in threads
    ]
    if summary is not None:
        channel, ts = summary
        requests.append(
            (
                chat_message(message_keys.incident_update(incident.id, update_id, None), channel, text, thread_ts=ts),
                None,
            )
        )
    what = f"update on {view.key}"
    fan_out(ctx, requests, lambda item: _send_paced(ctx, item[0], item[1], now, what))
    respond(text=f"Posted in the thread of {len(threads)} project channels' notices about {view.key}.")


def incidents_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise INCIDENTS.usage_error("`/pmo incidents` takes no more words.")
    audience = channel_audience(client, request.channel_id, request.team_id)
    with unit_of_work(ctx.session_factory) as session:
        views = incident_views.open_and_recent(session, now=request.now, audience=audience)
    respond(text=blocks.incidents_text(views), blocks=blocks.incidents_blocks(views))


# --- reading the forms --------------------------------------------------------------------------


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return values.get(block_id, {}).get(block_id, {})


def _typed(values: dict[str, Any], block_id: str) -> str | None:
    value = _element(values, block_id).get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _read_declaration(ctx: AppContext, values: dict[str, Any], user_id: str) -> NewIncident:
    """The incident the form declares; what it must correct is raised as FormErrors."""
    form = FormCheck()
    keys = [option["value"] for option in _element(values, NewIncidentBlock.SERVICES).get("selected_options") or []]
    severity_option = _element(values, NewIncidentBlock.SEVERITY).get("selected_option")
    summary = _typed(values, NewIncidentBlock.SUMMARY)
    if not keys:
        form.add(NewIncidentBlock.SERVICES, "Choose the service (or services) that are down.")
    if severity_option is None:
        form.add(NewIncidentBlock.SEVERITY, "Choose a severity.")
    if summary is None:
        form.add(NewIncidentBlock.SUMMARY, "Say in a line what is wrong.")
    form.raise_any()
    assert severity_option is not None and summary is not None
    # A service may have been removed while the form was open.
    with errors_on(NewIncidentBlock.SERVICES), unit_of_work(ctx.session_factory) as session:
        service_ids = tuple(service.id for service in live_services.get_services(session, keys))
    severity = incidents.parse_severity(severity_option["value"])
    return NewIncident(service_ids, severity, summary, declared_by_user_id=user_id)


def _read_impact(values: dict[str, Any]) -> ImpactInput:
    with errors_on(ImpactBlock.DELAY):
        delay = incidents.parse_delay_days(_typed(values, ImpactBlock.DELAY) or "")
    return ImpactInput(
        expected_delay_days=delay,
        milestones_at_risk=_typed(values, ImpactBlock.MILESTONES),
        people_diverted=_typed(values, ImpactBlock.PEOPLE),
        contingency_plan=_typed(values, ImpactBlock.CONTINGENCY),
        asks_for_priority=bool(_element(values, ImpactBlock.PRIORITY).get("selected_options")),
    )


def _tell(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def tell_declarer(ctx: AppContext, incident_id: int, user_id: str, now: datetime) -> None:
    """The declarer hears how many affected projects were actually told, and which could not be."""
    with unit_of_work(ctx.session_factory) as session:
        view = incident_views.incident_view(session, incident_id)
        report = incident_views.notice_report(session, view)
    text = blocks.notice_report_text(view, report)
    send_once(ctx, chat_message(message_keys.incident_declared_report(incident_id), user_id, text), now=now)


# --- listeners ------------------------------------------------------------------------------------


def register(app: App, ctx: AppContext) -> None:
    @app.view(CallbackId.NEW_INCIDENT)
    def declare_from_modal(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        new = _read_declaration(ctx, view["state"]["values"], actor.slack_user_id)
        with unit_of_work(ctx.session_factory) as session:
            change = incidents.declare(session, new, now=now)
            declared = incident_views.incident_view(session, change.incident_id)
        ack(response_action="update", view=blocks.declared_modal(declared))
        announce_declared(ctx, change.incident_id, now)
        tell_declarer(ctx, change.incident_id, actor.slack_user_id, now)

    @app.action(ActionId.INCIDENT_RECORD_IMPACT)
    def open_impact_form(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        target = ImpactTarget.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            previous = incidents.check_can_record(session, actor, target.incident_key, target.project_key)
            incident = incidents.get_incident(session, target.incident_key)
            view = incident_views.incident_view(session, incident.id)
        [line] = [line for line in view.impacts if line.project_key == target.project_key]
        form = blocks.impact_modal(target, blocks.headline(view), line.project_name, previous)
        client.views_open(trigger_id=body["trigger_id"], view=form)

    @app.view(CallbackId.INCIDENT_IMPACT)
    def record_impact(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        target = ImpactTarget.from_json(view["private_metadata"])
        given = _read_impact(view["state"]["values"])
        with unit_of_work(ctx.session_factory) as session:
            change = incidents.record_impact(session, actor, target.incident_key, target.project_key, given, now=now)
        ack()
        _after_impact_change(ctx, change, now)

    @app.action(ActionId.INCIDENT_NOT_AFFECTED)
    def not_affected(ack: Ack, actor: Actor, action: dict, now: datetime) -> None:
        ack()
        target = ImpactTarget.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            change = incidents.mark_not_affected(session, actor, target.incident_key, target.project_key, now=now)
        _after_impact_change(ctx, change, now)

    @app.action(ActionId.INCIDENT_RESOLVE)
    def resolve_button(
        ack: Ack, actor: Actor, action: dict, client: WebClient, respond: Respond, now: datetime
    ) -> None:
        ack()
        _tell(respond, _resolve(ctx, client, actor, action["value"], now))

    @app.action(ActionId.INCIDENT_SHIFT_ACTIONS)
    def shift_actions(ack: Ack, actor: Actor, body: dict, action: dict, respond: Respond, now: datetime) -> None:
        ack()
        target = ImpactTarget.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            shift = incident_replan.shift_open_actions(session, actor, target.incident_key, target.project_key, now=now)
            if shift.actions_moved == 0:
                _tell(respond, f"{shift.project_key} has no open actions, so nothing moved.")
                return
            note = chat_message(
                message_keys.incident_shift_note(shift.incident_id, shift.project_id),
                body["channel"]["id"],
                blocks.shift_note(shift, actor.slack_user_id),
                thread_ts=body["message"]["ts"],
            )
            # The note's ledger row is the lock: of two clicks at once, the second finds it and
            # rolls its shift back.
            claimed = claim(session, note, now=now)
            if claimed is None:
                raise Conflict(f"{shift.project_key}'s open actions were already shifted for {shift.incident_key}.")
        deliver(ctx, claimed, now=now)


INCIDENT = Subcommand(
    name="incident",
    handler=incident_command,
    usages=(
        Usage("/pmo incident", "declare a live-service incident (anyone): service, severity, what is wrong"),
        Usage(
            "/pmo incident update INC-7 text",
            "post an update in every affected project's notice thread",
            example="/pmo incident update INC-7 Fix deployed, monitoring",
        ),
        Usage(
            "/pmo incident resolve INC-7",
            "resolve it: affected projects are asked to re-plan",
            example="/pmo incident resolve INC-7",
        ),
    ),
)
INCIDENTS = Subcommand(
    name="incidents",
    handler=incidents_command,
    usages=(Usage("/pmo incidents", "open and recent incidents, with the projects they affect"),),
)

SUBCOMMANDS = (INCIDENT, INCIDENTS)
