"""Every idempotency key of the outgoing-message ledger, and the cause keys that name alerts.

One registry, so two features never build the same key two ways, and a key's format is
changed in one place. Keys are stored: changing a format makes already-sent messages look
unsent to the safety nets, so formats stay as they are.
"""

from __future__ import annotations

from datetime import date, datetime


def broken_channel_cause(team_id: str, channel_id: str) -> str:
    """One alert per broken channel, whichever message (prompt, notice) found it."""
    return f"broken-channel:{team_id}:{channel_id}"


def checkin_reminder(project_id: int, period: str, lead_user_id: str) -> str:
    return f"checkin-reminder:{project_id}:{period}:{lead_user_id}"


def checkin_reminder_note(project_id: int, period: str) -> str:
    return f"checkin-reminder-note:{project_id}:{period}"


def checkin_summary(checkin_id: int) -> str:
    return f"checkin-summary:{checkin_id}"


def sponsor_red(project_id: int, period: str) -> str:
    return f"sponsor-red:{project_id}:{period}"


def sponsor_help(project_id: int, period: str) -> str:
    return f"sponsor-help:{project_id}:{period}"


def owner_nudge(user_id: str, local_day: date) -> str:
    return f"nudge:{user_id}:{local_day.isoformat()}"


def sponsor_nudge(user_id: str, local_day: date) -> str:
    return f"nudge-sponsor:{user_id}:{local_day.isoformat()}"


def action_assigned(action_id: int) -> str:
    return f"action-assigned:{action_id}"


def action_reassigned(action_id: int, owner_user_id: str, event_id: int) -> str:
    return f"action-reassigned:{action_id}:{owner_user_id}:{event_id}"


def action_from_checkin(checkin_id: int) -> str:
    """One action per check-in's help request: the claim of its DM is what refuses a second."""
    return f"action-from-checkin:{checkin_id}"


def joined_hint(event_id: str) -> str:
    return f"joined-hint:{event_id}"


def closure_note(decision_id: int) -> str:
    return f"closure-note:{decision_id}"


def overlap_quiet_week(period: str) -> str:
    """The job run recording that a week's overlap comparison found nothing to note."""
    return f"overlap-check:{period}"


def prompt_schedule_default(cadence_described: str) -> str:
    """The job run recording the default cadence the prompt schedule was worked out with; only
    the current default's is kept ("" gives the prefix they share)."""
    return f"prompt-schedule-default-cadence:{cadence_described}"


def coaching_offered(escalation_id: int, recipient_user_id: str) -> str:
    """The DM telling a project's lead or sponsor who in the PMO offered coaching on an alert."""
    return f"coaching-offered:{escalation_id}:{recipient_user_id}"


def governance_pack_tables(month: str) -> str:
    """The governance pack's chart numbers as tables, in the pack's thread."""
    return f"governance-pack-tables:{month}"


def checkin_prompt(project_id: int, period: str) -> str:
    """A period's prompt message (also how its answer finds it, to update it and thread under it)."""
    return f"checkin-prompt:{project_id}:{period}"


def checkin_attention_cause(project_key: str, period: str) -> str:
    """One alert per project and week, whether it is Red, asks the PMO for help, or both."""
    return f"checkin-red:{project_key}:{period}"


def checkin_missed_cause(project_key: str, period: str) -> str:
    return f"checkin-missed:{project_key}:{period}"


ALERT_PREFIX = "escalation:"


def alert(cause_key: str) -> str:
    """The escalation's message in the PMO channel: the cause's key under ALERT_PREFIX."""
    return f"{ALERT_PREFIX}{cause_key}"


ACTION_OVERDUE_CAUSE_PREFIX = "action-overdue:"


def action_overdue_cause(action_id: int) -> str:
    return f"{ACTION_OVERDUE_CAUSE_PREFIX}{action_id}"


def owner_unreachable_cause(user_id: str) -> str:
    return f"owner-unreachable:{user_id}"


def portfolio_sync_failure_cause(streak_started: datetime) -> str:
    """One alert per failure streak of the portfolio sync, named by when the streak began."""
    return f"portfolio-sync:{streak_started.isoformat()}"


def pmo_digest(period: str) -> str:
    """The week's digest: one per ISO week."""
    return f"pmo-digest:{period}"


def governance_pack(month: str) -> str:
    """The month's pack message: one per month ("2026-12")."""
    return f"governance-pack:{month}"


def governance_pack_charts(month: str) -> str:
    """The month's chart upload, shared in the pack channel once."""
    return f"governance-pack-charts:{month}"


def overlap_note(period: str) -> str:
    """The week's note of possible overlaps in the PMO channel: one note per week."""
    return f"overlap-note:{period}"


def retention_run(now: datetime) -> str:
    """The job run recording that a month's retention was applied."""
    return f"retention:{now:%Y-%m}"


# --- incidents ------------------------------------------------------------------------------


def incident_notice(incident_id: int, project_id: int) -> str:
    """The impact notice in one affected project's channel."""
    return f"incident-notice:{incident_id}:{project_id}"


def incident_replan(incident_id: int, project_id: int) -> str:
    """The re-plan message in one affected project's channel, once the incident is resolved."""
    return f"incident-replan:{incident_id}:{project_id}"


def incident_sponsor_dm(incident_id: int, sponsor_user_id: str) -> str:
    """One DM per sponsor per incident, listing that sponsor's affected projects."""
    return f"incident-sponsor:{incident_id}:{sponsor_user_id}"


def incident_summary(incident_id: int) -> str:
    """The PMO channel's one message about an incident, updated in place."""
    return f"incident-summary:{incident_id}"


def incident_update(incident_id: int, update_id: str, project_id: int | None) -> str:
    """One update's copy in a project's thread (or, with no project, in the PMO summary's)."""
    return f"incident-update:{incident_id}:{update_id}:{project_id if project_id is not None else 'pmo'}"


def incident_shift_note(incident_id: int, project_id: int) -> str:
    """The thread note saying a project's actions were shifted; claiming it makes the shift once-only."""
    return f"incident-shift:{incident_id}:{project_id}"


def incident_declared_report(incident_id: int) -> str:
    """The declarer's DM saying which affected projects were told."""
    return f"incident-declared-report:{incident_id}"


def incident_priority_cause(incident_key: str, project_key: str) -> str:
    """The PMO alert raised when a team asks for priority during an incident."""
    return f"incident-priority:{incident_key}:{project_key}"


# --- the RAID log: risks, issues and decisions asked for ---------------------------------------


def risk_alert(risk_id: int) -> str:
    """The PMO's one alert about a new risk scoring 20 or more."""
    return f"risk-alert:{risk_id}"


def issue_alert(issue_id: int) -> str:
    """The PMO's one alert about a new critical issue."""
    return f"issue-alert:{issue_id}"


def risk_review_alert(risk_id: int, review_date: date) -> str:
    """The PMO's one alert about a risk review that reached the ladder's PMO step; a new date starts afresh."""
    return f"risk-review-alert:{risk_id}:{review_date.isoformat()}"


def raid_changed(checkin_id: int) -> str:
    """The DM to whoever submitted a check-in, with the cards of the RAID items they said changed."""
    return f"raid-changed:{checkin_id}"


def decision_requested(request_id: int) -> str:
    """The decider's DM with *Record decision*, redrawn once it is recorded."""
    return f"decision-requested:{request_id}"


# --- coaching (bot/services/coaching.py) ---------------------------------------------------


def pmo_owner_question(action_id: int) -> str:
    """The one DM asking whether the lead or sponsor should own an action given to a PMO admin."""
    return f"pmo-owner-question:{action_id}"


def pmo_owner_handed(action_id: int, owner_user_id: str) -> str:
    """The DM telling a lead or sponsor that an action the PMO was given is theirs."""
    return f"pmo-owner-handed:{action_id}:{owner_user_id}"


def nobody_accountable(undeliverable_key: str) -> str:
    """The PMO-channel copy of a message meant for a sponsor or lead the project does not have (any more)."""
    return f"nobody-accountable:{undeliverable_key}"


def starting_lessons(project_id: int, recipient_user_id: str) -> str:
    """The one DM giving a new project's lead or sponsor the lessons of closed projects like it."""
    return f"starting-lessons:{project_id}:{recipient_user_id}"


# --- milestones and dependencies (bot/services/milestones.py) -------------------------------------


def dependency_slip(dependency_id: int, forecast: date, recipient: str) -> str:
    """One notice per slip: a dependency's milestone forecast at `forecast`, to the channel or the lead."""
    return f"dependency-slip:{dependency_id}:{forecast.isoformat()}:{recipient}"
