"""Every idempotency key of the outgoing-message ledger, and the cause keys that name alerts.

One registry, so two features never build the same key two ways, and a key's format is
changed in one place. Keys are stored: changing a format makes already-sent messages look
unsent to the safety nets, so formats stay as they are.
"""

from __future__ import annotations

from datetime import date


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


def coaching_offered(escalation_id: int, recipient_user_id: str) -> str:
    """The DM telling a project's lead or sponsor who in the PMO offered coaching on an alert."""
    return f"coaching-offered:{escalation_id}:{recipient_user_id}"


def governance_pack_tables(month: str) -> str:
    """The governance pack's chart numbers as tables, in the pack's thread."""
    return f"governance-pack-tables:{month}"


# --- milestones and dependencies (bot/services/milestones.py) -------------------------------------


def dependency_slip(dependency_id: int, forecast: date, recipient: str) -> str:
    """One notice per slip: a dependency's milestone forecast at `forecast`, to the channel or the lead."""
    return f"dependency-slip:{dependency_id}:{forecast.isoformat()}:{recipient}"
