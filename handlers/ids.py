"""Every action_id, block_id and callback_id the app uses, named once."""

from __future__ import annotations

import enum

from bot.services import actions, checkins, risks


class ActionId(enum.StrEnum):
    SHARE_PROJECT_RECORD = "project_record.share"
    SHOW_PROJECT_STATUS = "project_status.show"
    SHARE_PROJECT_STATUS = "project_status.share"
    STATUS_PREVIOUS_PAGE = "status_table.previous"
    STATUS_NEXT_PAGE = "status_table.next"
    SHARE_STATUS_TABLE = "status_table.share"
    ESCALATION_ACKNOWLEDGE = "escalation.acknowledge"
    ESCALATION_COACHING = "escalation.coaching"
    INCIDENT_RECORD_IMPACT = "incident.record_impact"
    INCIDENT_NOT_AFFECTED = "incident.not_affected"
    INCIDENT_RESOLVE = "incident.resolve"
    INCIDENT_SHIFT_ACTIONS = "incident.shift_actions"
    SUBMIT_CHECKIN = "checkin.submit"
    OVERLAP_SAME_EFFORT = "overlap.same_effort"
    OVERLAP_DIFFERENT = "overlap.different"
    OVERLAP_COMBINE = "overlap.combine"
    ACTION_DONE = "action.done"
    ACTION_SNOOZE = "action.snooze"
    ACTION_REASSIGN = "action.reassign"
    ACTION_ADD_NOTE = "action.add_note"
    ACTION_HISTORY = "action.history"
    ACTION_FROM_HELP = "action.from_help"
    HISTORY_NEWER = "history.newer"
    HISTORY_OLDER = "history.older"
    MILESTONE_CHANGE_FORECAST = "milestone.change_forecast"
    MILESTONE_MET = "milestone.met"
    COMPLETE_BENEFIT = "benefit.complete"
    MILESTONE_EDIT = "milestone.edit"
    MILESTONE_REMOVE = "milestone.remove"
    DEPENDENCY_REMOVE = "dependency.remove"


class CallbackId(enum.StrEnum):
    NEW_PROJECT = "project.new"
    NEW_BENEFIT = "benefit.new"
    REPORT_BENEFIT_VALUE = "benefit.report"
    CHECKIN = "checkin.submit"
    NEW_SERVICE = "service.new"
    NEW_INCIDENT = "incident.new"
    INCIDENT_IMPACT = "incident.impact"
    CLOSE_PROJECT = "project.close"
    EDIT_PROJECT = "project.edit"
    NEW_ACTION = "action.new"
    ACTION_NOTE = "action.note"
    ACTION_FROM_MESSAGE = "action.from_message"  # the "Make this an action" message shortcut
    NEW_MILESTONE = "milestone.new"
    MILESTONE_FORECAST = "milestone.forecast"
    MILESTONE_EDITED = "milestone.edited"
    NEW_DEPENDENCY = "dependency.new"


class NewProjectBlock(enum.StrEnum):
    """Block ids of the "new project" modal; each input's action_id is its block id."""

    KEY = "key"
    NAME = "name"
    SPONSOR = "sponsor"
    LEAD = "lead"
    OBJECTIVE = "objective"  # a new one, typed
    PROGRAMME = "programme"
    OBJECTIVE_PICKED = "objective_picked"  # an existing one, from the list
    PROGRAMME_PICKED = "programme_picked"
    DESCRIPTION = "description"
    STATUS = "status"  # the edit form only
    CADENCE = "cadence"


class CheckinBlock(enum.StrEnum):
    """Block ids of the check-in form; each input's action_id is its block id.

    The fields the domain validates use the domain's names, so its problems map onto
    the form's blocks as they are. Benefit inputs are `checkins.benefit_field(id)`.
    """

    OVERALL = checkins.OVERALL
    SCHEDULE = "schedule"
    COST = "cost"
    SCOPE = "scope"
    PROGRESS = "progress"
    NEXT_STEPS = "next_steps"
    RISKS = "risks"
    HELP = "help"
    ESCALATE = "escalate"
    PATH_TO_GREEN = checkins.PATH_TO_GREEN
    PATH_TO_GREEN_DATE = checkins.PATH_TO_GREEN_DATE


class NewBenefitBlock(enum.StrEnum):
    """Block ids of the "new benefit" modal; each input's action_id is its block id."""

    NAME = "name"
    MEASURE = "measure"
    UNIT = "unit"
    BASELINE = "baseline"
    TARGET = "target"
    TARGET_DATE = "target_date"
    PLAN_START = "plan_start"
    OWNER = "owner"


class BenefitValueBlock(enum.StrEnum):
    """Block ids of the "report a benefit value" modal; each input's action_id is its block id."""

    BENEFIT = "benefit"
    VALUE = "value"
    MEASURED_ON = "measured_on"


class ClosureBlock(enum.StrEnum):
    """Block ids of the closure modal; each input's action_id is its block id."""

    OUTCOME = "outcome"
    SUMMARY = "summary"
    BENEFITS = "benefits"
    REPEAT = "repeat"
    AVOID = "avoid"


class NewServiceBlock(enum.StrEnum):
    """Block ids of the "new service" modal; each input's action_id is its block id."""

    KEY = "key"
    NAME = "name"
    OWNING_TEAM = "owning_team"
    USERGROUP = "usergroup"


class NewIncidentBlock(enum.StrEnum):
    """Block ids of the "declare an incident" modal; each input's action_id is its block id."""

    SERVICES = "services"
    SEVERITY = "severity"
    SUMMARY = "summary"


class ImpactBlock(enum.StrEnum):
    """Block ids of the "record impact" modal; each input's action_id is its block id."""

    DELAY = "delay"
    MILESTONES = "milestones"
    PEOPLE = "people"
    CONTINGENCY = "contingency"
    PRIORITY = "priority"


class NewActionBlock(enum.StrEnum):
    """Block ids of the new-action form; each input's action_id is its block id.

    They are the domain's field names, so its problems map onto the form as they are.
    """

    PROJECT = actions.PROJECT
    TITLE = actions.TITLE
    OWNER = actions.OWNER
    DUE = actions.DUE
    NOTES = actions.NOTES


class ActionNoteBlock(enum.StrEnum):
    """Block ids of the "add a note" form; each input's action_id is its block id."""

    NOTE = actions.NOTES


# --- the RAID log: risks, issues and decisions asked for (kept together, apart from the above) ---


class RaidActionId(enum.StrEnum):
    RISK_REVIEW = "risk.review"
    RISK_CLOSE = "risk.close"
    RISK_ADD_NOTE = "risk.add_note"
    ISSUE_CLOSE = "issue.close"
    ISSUE_ADD_NOTE = "issue.add_note"
    RISKS_PREVIOUS_PAGE = "risks.previous"
    RISKS_NEXT_PAGE = "risks.next"
    ISSUES_PREVIOUS_PAGE = "issues.previous"
    ISSUES_NEXT_PAGE = "issues.next"
    DECISION_NEEDED = "decision.needed"  # on a risk, an issue, or a Red check-in's summary
    DECISION_RECORD = "decision.record"


class RaidCallbackId(enum.StrEnum):
    NEW_RISK = "risk.new"
    NEW_ISSUE = "issue.new"
    RISK_REVIEW = "risk.review"
    RISK_NOTE = "risk.note"
    ISSUE_NOTE = "issue.note"
    DECISION_NEEDED = "decision.needed"
    DECISION_RECORD = "decision.record"


class RiskBlock(enum.StrEnum):
    """Block ids of the risk forms (new, review); the domain's field names, so its problems map onto them."""

    TITLE = risks.TITLE
    OWNER = risks.OWNER
    PROBABILITY = risks.PROBABILITY
    IMPACT = risks.IMPACT
    PROXIMITY = risks.PROXIMITY
    RESPONSE = risks.RESPONSE
    MITIGATION = risks.MITIGATION
    NEXT_REVIEW = risks.NEXT_REVIEW
    NOTE = risks.NOTE


class IssueBlock(enum.StrEnum):
    TITLE = risks.TITLE
    OWNER = risks.OWNER
    SEVERITY = risks.SEVERITY
    DUE = risks.DUE
    NOTE = risks.NOTE


class DecisionBlock(enum.StrEnum):
    QUESTION = "question"
    DECIDER = "decider"
    DUE = "due"
    OUTCOME = "outcome"


# The check-in form's "still accurate?" checkbox of one risk or issue: this prefix and the item's key.
RAID_CONFIRM_BLOCK_PREFIX = "raid_confirm:"


class CoachingId(enum.StrEnum):
    """Coaching: `/pmo coach`'s "Plan a conversation" button and form (each input's action_id is its block id),
    and the buttons answering who should own an action given to a PMO admin."""

    PLAN_CONVERSATION = "coaching.plan"  # the button's action_id
    PLAN_FORM = "coaching.plan_form"  # the form's callback_id
    WITH = "with"
    ABOUT = "about"
    FOLLOW_UP = "follow_up"
    OWNER_TO_LEAD = "coaching.owner_to_lead"  # "The PMO coaches; should the project's lead or sponsor own this?"
    OWNER_TO_SPONSOR = "coaching.owner_to_sponsor"
    OWNER_KEEP = "coaching.owner_keep"


class MilestoneBlock(enum.StrEnum):
    """Block ids of the milestone and dependency modals; each input's action_id is its block id.

    They are the domain's field names, so its problems map onto the forms as they are. A
    milestone's forecast in the check-in form is `milestone_field(id)`.
    """

    NAME = "name"
    BASELINE = "baseline"
    FORECAST = "forecast"
    MILESTONE = "milestone"
    NEEDED_BY = "needed_by"
