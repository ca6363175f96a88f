"""The whole PMO domain as SQLAlchemy 2 typed models (see ../shared/domain.md).

Later features add behaviour on top of these tables, so the schema covers the domain even
where no code reads a column yet. Instants are UTC (`UtcDateTime`); calendar dates are
plain `Date`s; local times of day are "HH:MM" strings interpreted in a named timezone.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, UtcDateTime


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable, and readable in psql.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class ProjectStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Rag(enum.StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class ProjectRole(enum.StrEnum):
    DEPUTY = "deputy"
    MEMBER = "member"


class ServiceRelation(enum.StrEnum):
    DEPENDS_ON = "depends_on"
    CHANGES = "changes"
    SHARES_PEOPLE = "shares_people"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class IncidentSeverity(enum.StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    COACHING = "coaching"
    CLOSED = "closed"


class EscalationKind(enum.StrEnum):
    """Why the PMO is alerted; the facts of each kind are in `Escalation.facts`."""

    CHECKIN_ATTENTION = "checkin_attention"  # Red, dropped to Red, or "Escalate to PMO" ticked
    CHECKIN_MISSED = "checkin_missed"
    BROKEN_CHANNEL = "broken_channel"
    ACTION_OVERDUE = "action_overdue"
    OWNER_UNREACHABLE = "owner_unreachable"
    INCIDENT_PRIORITY = "incident_priority"
    PORTFOLIO_SYNC = "portfolio_sync"
    # Alerts raised before causes were stored as facts: `facts["text"]` is their wording.
    LEGACY = "legacy"


class RiskResponse(enum.StrEnum):
    AVOID = "avoid"
    REDUCE = "reduce"
    TRANSFER = "transfer"
    ACCEPT = "accept"


class RaidStatus(enum.StrEnum):
    """A risk's or an issue's status."""

    OPEN = "open"
    CLOSED = "closed"


class IssueSeverity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class DeliveryStatus(enum.StrEnum):
    # pending: claimed, send in progress; if the sender died, its lease (next_attempt_at) runs out
    # and the retry job takes it over
    PENDING = "pending"
    SENT = "sent"
    # failed: Slack or the network said no for a reason that may pass; retried later
    FAILED = "failed"
    # undeliverable: Slack said no for a reason that will not pass by itself
    UNDELIVERABLE = "undeliverable"


class Objective(Base):
    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    objective: Mapped[Objective | None] = relationship()


class Person(Base):
    """A Slack user known to the bot; created the first time they are named anywhere."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # Indexed: the nudge pass reads the handful of distinct timezones each tick.
    timezone: Mapped[str | None] = mapped_column(String(64), index=True)
    unreachable_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    absences: Mapped[list[Absence]] = relationship(order_by="Absence.first_day", cascade="all, delete-orphan")


class Absence(Base):
    """Days someone is away (first and last included): no nudges reach them, their actions stop ageing.

    A person's absences never overlap or touch: adding one merges it with its neighbours.
    """

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProjectStatus] = mapped_column(_enum(ProjectStatus, "project_status"), default=ProjectStatus.ACTIVE)
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)  # "my projects" reads
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # Cadence: NULL means "the workspace default", so a default change reaches every such project.
    checkin_day: Mapped[int | None] = mapped_column(SmallInteger)  # 0 = Monday .. 6 = Sunday
    checkin_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", 24 h, local
    timezone: Mapped[str | None] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    objective: Mapped[Objective | None] = relationship()
    programme: Mapped[Programme | None] = relationship()
    sponsor: Mapped[Person | None] = relationship(foreign_keys=[sponsor_id])
    lead: Mapped[Person | None] = relationship(foreign_keys=[lead_id])
    channel_links: Mapped[list[ChannelLink]] = relationship(
        back_populates="project", order_by="ChannelLink.id", cascade="all, delete-orphan"
    )
    service_links: Mapped[list[ProjectService]] = relationship(
        back_populates="project", order_by="ProjectService.id", cascade="all, delete-orphan"
    )
    benefits: Mapped[list[Benefit]] = relationship(
        back_populates="project", order_by="Benefit.id", cascade="all, delete-orphan"
    )
    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", order_by="ProjectMember.id", cascade="all, delete-orphan"
    )


class ProjectMember(Base):
    """People with a named role on a project besides its sponsor and lead."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[ProjectRole] = mapped_column(_enum(ProjectRole, "project_role"))

    project: Mapped[Project] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class ProjectShare(Base):
    """A partner organisation (Slack Connect team) allowed to see a project's records."""

    __tablename__ = "project_shares"
    __table_args__ = (UniqueConstraint("project_id", "partner_team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    partner_team_id: Mapped[str] = mapped_column(String(32))
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChannelLink(Base):
    """A Slack channel linked to a project. A channel links to at most one project."""

    __tablename__ = "channel_links"
    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set when Slack says the channel cannot be posted to (archived, bot removed).
    broken_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    broken_reason: Mapped[str | None] = mapped_column(String(64))

    project: Mapped[Project] = relationship(back_populates="channel_links")


class Service(Base):
    """A live service run by a service team (Run), which projects (Change) may depend on."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owning_team: Mapped[str | None] = mapped_column(String(200))
    slack_usergroup_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProjectService(Base):
    __tablename__ = "project_services"
    __table_args__ = (UniqueConstraint("project_id", "service_id", "relation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    relation: Mapped[ServiceRelation] = mapped_column(_enum(ServiceRelation, "service_relation"))

    project: Mapped[Project] = relationship(back_populates="service_links")
    service: Mapped[Service] = relationship()


class Benefit(Base):
    __tablename__ = "benefits"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # A benefit may be recorded before it is measurable: until measure, unit, baseline, target,
    # target date and owner are all given it has no trajectory (benefits.missing_parts).
    measure: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    baseline: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    target: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    target_date: Mapped[date | None] = mapped_column(Date)
    # When the baseline was measured: the plan runs from here to the target. NULL on benefits
    # added before it was asked for (their plan starts at the project's start or the day added).
    plan_start_date: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    project: Mapped[Project] = relationship(back_populates="benefits")
    owner: Mapped[Person | None] = relationship()
    values: Mapped[list[BenefitValue]] = relationship(
        back_populates="benefit", order_by="BenefitValue.measured_on", cascade="all, delete-orphan"
    )


class Milestone(Base):
    """A point in a project's plan: the date agreed (baseline), the date now expected
    (forecast) and, once it is met, the day it was."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    baseline_date: Mapped[date] = mapped_column(Date)
    forecast_date: Mapped[date] = mapped_column(Date)
    actual_date: Mapped[date | None] = mapped_column(Date)
    # The last time the forecast moved later (the digest's "slipped this week").
    slipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    project: Mapped[Project] = relationship()


class MilestoneDependency(Base):
    """A project (`project_id`) that needs another project's milestone by a date."""

    __tablename__ = "milestone_dependencies"
    __table_args__ = (UniqueConstraint("project_id", "milestone_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    needed_by: Mapped[date] = mapped_column(Date)
    # The latest late forecast the dependent project was told about: a later one is a new slip.
    notified_forecast: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    project: Mapped[Project] = relationship()
    milestone: Mapped[Milestone] = relationship()


class CostReport(Base):
    """A project's money as reported for one month: budgets, spend so far and the forecast outturn."""

    __tablename__ = "cost_reports"
    __table_args__ = (UniqueConstraint("project_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11": the month reported for
    financial_year: Mapped[str] = mapped_column(String(7))  # "2026-27": the year `budget_year` is for
    budget_whole_life: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_year: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    actual_to_date: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    forecast_outturn: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    # Who reported it in a check-in; NULL when an import did (the audit trail says which).
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BenefitValue(Base):
    __tablename__ = "benefit_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id", ondelete="CASCADE"), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    measured_on: Mapped[date] = mapped_column(Date)
    period: Mapped[str | None] = mapped_column(String(10))  # ISO week, e.g. "2026-W48"
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)

    benefit: Mapped[Benefit] = relationship(back_populates="values")


class CheckinPeriod(Base):
    """One project's check-in cycle for one period: prompt, reminder, outcome."""

    __tablename__ = "checkin_periods"
    __table_args__ = (
        UniqueConstraint("project_id", "period"),
        # The reminders and the misses each read, by index, only the periods still theirs to
        # chase: not yet reminded (missed), not yet seen answered, prompted in the window.
        Index("ix_checkin_periods_reminder_chase", "reminded_at", "answered_seen_at", "prompted_at"),
        Index("ix_checkin_periods_miss_chase", "missed_at", "answered_seen_at", "prompted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    # Reminders and misses only chase periods that fell due recently.
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # When the prompt was claimed for sending; the message itself (channel, ts) is in the
    # outgoing-message ledger under the prompt's idempotency key.
    prompted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why no check-in was owed this period (a skip date, an incident pause), for fair compliance.
    excused_reason: Mapped[str | None] = mapped_column(String(64))
    # When the tick's chase (reminders, misses) first found a check-in for the period, so later
    # ticks skip it without looking again; the check-ins themselves stay the truth.
    answered_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Checkin(Base):
    """One submitted update. Amendments are new rows with a higher revision; the latest counts."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("project_id", "period", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    overall_rag: Mapped[Rag] = mapped_column(_enum(Rag, "overall_rag"))
    # The level as given on a confidence scale other than rag ("dca5:amber_red"); overall_rag is its RAG.
    confidence: Mapped[str | None] = mapped_column(String(24))
    schedule_rag: Mapped[Rag | None] = mapped_column(_enum(Rag, "schedule_rag"))
    cost_rag: Mapped[Rag | None] = mapped_column(_enum(Rag, "cost_rag"))
    scope_rag: Mapped[Rag | None] = mapped_column(_enum(Rag, "scope_rag"))
    progress: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    risks_issues: Mapped[str | None] = mapped_column(Text)
    help_needed: Mapped[str | None] = mapped_column(Text)
    escalate_to_pmo: Mapped[bool] = mapped_column(Boolean, default=False)
    path_to_green: Mapped[str | None] = mapped_column(Text)
    path_to_green_date: Mapped[date | None] = mapped_column(Date)

    submitted_by: Mapped[Person] = relationship()


class Action(Base):
    __tablename__ = "actions"
    # "My open actions", "the project's open actions" and the nudge pass read by these.
    __table_args__ = (
        Index("ix_actions_owner_id_status", "owner_id", "status"),
        Index("ix_actions_project_id_status", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus, "action_status"), default=ActionStatus.OPEN)
    source_link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    events: Mapped[list[ActionEvent]] = relationship(
        back_populates="action", order_by="ActionEvent.id", cascade="all, delete-orphan"
    )


class ActionEvent(Base):
    """The history of an action: created, note, snoozed, reassigned, done, dropped."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    action: Mapped[Action] = relationship(back_populates="events")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("external_source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # "INC-7"
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[IncidentSeverity] = mapped_column(_enum(IncidentSeverity, "incident_severity"))
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"), default=IncidentStatus.OPEN
    )
    external_source: Mapped[str | None] = mapped_column(String(32))  # "webhook", "pagerduty"
    external_id: Mapped[str | None] = mapped_column(String(200))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When every message the declaration (or the resolution) sends was in the ledger: from then on
    # the ledger's own retries finish the job, and the tick's safety net no longer looks at it.
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replans_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    service_links: Mapped[list[IncidentService]] = relationship(cascade="all, delete-orphan")
    impacts: Mapped[list[IncidentImpact]] = relationship(
        back_populates="incident", order_by="IncidentImpact.id", cascade="all, delete-orphan"
    )


class IncidentService(Base):
    __tablename__ = "incident_services"
    __table_args__ = (UniqueConstraint("incident_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))

    service: Mapped[Service] = relationship()


class IncidentImpact(Base):
    """An incident's effect on one project: the pause, and what the team recorded."""

    __tablename__ = "incident_impacts"
    __table_args__ = (UniqueConstraint("incident_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # While true the project's prompts and nudges are paused and its overdue clocks stop.
    pauses_project: Mapped[bool] = mapped_column(Boolean, default=True)
    not_affected: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_delay_days: Mapped[int | None] = mapped_column(Integer)
    milestones_at_risk: Mapped[str | None] = mapped_column(Text)
    people_diverted: Mapped[str | None] = mapped_column(Text)
    contingency_plan: Mapped[str | None] = mapped_column(Text)
    asks_for_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    incident: Mapped[Incident] = relationship(back_populates="impacts")
    project: Mapped[Project] = relationship()


class Escalation(Base):
    """An alert in the PMO channel. `cause_key` makes it one alert per cause, updated in place."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    cause_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[EscalationKind] = mapped_column(_enum(EscalationKind, "escalation_kind"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    period: Mapped[str | None] = mapped_column(String(10))
    # What caused the alert, as data (period, RAG, days overdue, channel id...); the alert's
    # words are rendered from it when shown, so people's text is never stored as mrkdwn.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The cause went away (channel works again, action done, late check-in...): the alert
    # says how, in `facts["settled"]`, and leaves the PMO's to-do lists.
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[EscalationStatus] = mapped_column(
        _enum(EscalationStatus, "escalation_status"), default=EscalationStatus.OPEN, index=True
    )
    picked_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    picked_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The alert message lives in the outgoing-message ledger under "escalation:<cause_key>";
    # when the tick's safety net first found it there, so later ticks skip it without looking.
    alert_seen_in_ledger_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Decision(Base):
    """A recorded decision: a board call, or a PMO verdict on a possible overlap."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(200))  # e.g. "overlap:CRM-2:CRM-5"
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Risk(Base):
    """A project risk in its RAID log; score = probability x impact (1-5 each)."""

    __tablename__ = "risks"
    # "A project's open risks" and the review pass read by these.
    __table_args__ = (Index("ix_risks_project_id_status", "project_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    probability: Mapped[int] = mapped_column(SmallInteger)
    impact: Mapped[int] = mapped_column(SmallInteger)
    proximity: Mapped[date | None] = mapped_column(Date)  # when it would hit, if known
    response: Mapped[RiskResponse] = mapped_column(_enum(RiskResponse, "risk_response"))
    mitigation: Mapped[str | None] = mapped_column(Text)
    next_review: Mapped[date] = mapped_column(Date)
    status: Mapped[RaidStatus] = mapped_column(_enum(RaidStatus, "risk_status"), default=RaidStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    project: Mapped[Project] = relationship()
    events: Mapped[list[RiskEvent]] = relationship(
        back_populates="risk", order_by="RiskEvent.id", cascade="all, delete-orphan"
    )

    @hybrid_property
    def score(self) -> int:
        # Also a SQL expression (Risk.score), so queries rank and filter by the same product.
        return self.probability * self.impact


class RiskEvent(Base):
    """The history of a risk, as action_events is an action's: created, note, reviewed, closed."""

    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    risk: Mapped[Risk] = relationship(back_populates="events")


class Issue(Base):
    """A project issue in its RAID log: something that has happened and must be dealt with."""

    __tablename__ = "issues"
    __table_args__ = (Index("ix_issues_project_id_status", "project_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    severity: Mapped[IssueSeverity] = mapped_column(_enum(IssueSeverity, "issue_severity"))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[RaidStatus] = mapped_column(_enum(RaidStatus, "issue_status"), default=RaidStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    project: Mapped[Project] = relationship()
    events: Mapped[list[IssueEvent]] = relationship(
        back_populates="issue", order_by="IssueEvent.id", cascade="all, delete-orphan"
    )


class IssueEvent(Base):
    """The history of an issue, as risk_events is a risk's: created, note, severity (an import changed it),
    closed, reopened."""

    __tablename__ = "issue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    issue: Mapped[Issue] = relationship(back_populates="events")
    actor: Mapped[Person | None] = relationship()


class DecisionRequest(Base):
    """A decision asked for (from a Red check-in's "help needed", a risk or an issue).

    Recording it writes a Decision (the log of decisions made), linked here.
    """

    __tablename__ = "decision_requests"
    __table_args__ = (Index("ix_decision_requests_decision_id", "decision_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    subject_key: Mapped[str] = mapped_column(String(200))  # "checkin:12", "risk:3", "issue:4"
    question: Mapped[str] = mapped_column(Text)
    decider_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_date: Mapped[date] = mapped_column(Date)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))

    decider: Mapped[Person] = relationship(foreign_keys=[decider_id])
    project: Mapped[Project] = relationship()
    decision: Mapped[Decision | None] = relationship()


class Lesson(Base):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "repeat" or "avoid"
    text: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CoachingNote(Base):
    """A coaching conversation the PMO planned or offered: the PMO coaches, the owners keep the ball.

    A planned one has a follow-up date, chased as an ordinary action owned by the planner
    (`follow_up_action_id`); one offered on an alert names the alert.
    """

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))  # bot.services.coaching.Topic
    about: Mapped[str] = mapped_column(Text)
    planned_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    with_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    follow_up_action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SkipDate(Base):
    """A workspace-wide non-working day (bank holiday): no prompts, and no ladder ageing."""

    __tablename__ = "skip_dates"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    # Written by the bank-holiday calendar (BANK_HOLIDAYS), not typed by anyone.
    bank_holiday: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OutgoingMessage(Base):
    """The idempotency ledger: one row per message a schedule or an event triggers.

    The row is claimed (inserted, unique `idempotency_key`) and committed before the send,
    so a retry, a restart or a second instance finds it and does not post again. The
    payload is kept so a failed send can be retried later without re-deriving it.
    """

    __tablename__ = "outgoing_messages"
    # The retry job asks for failed messages whose retry time has come, every tick.
    __table_args__ = (Index("ix_outgoing_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    method: Mapped[str] = mapped_column(String(64))  # "chat.postMessage", "chat.update", ...
    channel_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SyncState(Base):
    """Where a portfolio sync from an external system stands, per source URL."""

    __tablename__ = "sync_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_url: Mapped[str] = mapped_column(String(1000), unique=True)
    # The source's ETag, sent back as If-None-Match so an unchanged portfolio costs nothing.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set when a failure streak starts, cleared by the next success: the PMO hears once per streak.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """A scheduled job that finished its work for a period without sending anything.

    Jobs that send a message find "done" in the outgoing-message ledger; a job whose
    period can end quietly (a week with no possible overlaps) records it here, so later
    ticks do not redo the work.
    """

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(255), unique=True)  # e.g. "overlap-check:2026-W48"
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KeptWorkingDay(Base):
    """A bank holiday someone took off the skip list: that day stays a working day."""

    __tablename__ = "kept_working_days"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    kept_by: Mapped[str] = mapped_column(String(64))  # a Slack user ID
    kept_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """One change to one record: append-only (storage/audit.py writes it; nothing updates or deletes it).

    No foreign keys: the trail outlives the records it describes.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user ID, or import, sync, webhook:..., scheduler, cli
    door: Mapped[str] = mapped_column(String(16))  # command, button, form, event, cli, webhook, scheduler
    record_type: Mapped[str] = mapped_column(String(64))  # the table name
    record_id: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[int | None] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(16))  # created, updated, deleted, removed
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> [old, new]


class ProjectHealth(Base):
    """Each project's row of the status table, kept so a page of it is one indexed read.

    Derived, never edited: bot/services/health.py computes it from the check-ins, actions,
    benefits and incidents, a session hook marks a project's row stale (as_of NULL) in the
    same transaction as any change to them, and reads and the tick recompute stale rows and
    rows computed for another day (overdue actions and benefit trajectories move with the date).
    """

    __tablename__ = "project_health"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date | None] = mapped_column(Date, index=True)  # the day it was computed for; NULL: stale
    version: Mapped[int] = mapped_column(Integer, default=1)  # + 1 at every change to what it is derived from
    rag: Mapped[Rag | None] = mapped_column(_enum(Rag, "health_rag"))
    previous_rag: Mapped[Rag | None] = mapped_column(_enum(Rag, "health_previous_rag"))
    last_checkin_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    overdue_actions: Mapped[int] = mapped_column(Integer, default=0)
    benefits_off_trajectory: Mapped[int] = mapped_column(Integer, default=0)
    open_incidents: Mapped[int] = mapped_column(Integer, default=0)
    # The latest check-in's level as given on a dca scale (checkins.confidence); NULL on rag.
    confidence: Mapped[str | None] = mapped_column(String(24))
    # The project's own status, so counting the open portfolio by colour reads this table's
    # (project_status, rag, confidence) index alone.
    project_status: Mapped[ProjectStatus] = mapped_column(
        _enum(ProjectStatus, "health_project_status"), default=ProjectStatus.ACTIVE
    )
    sort_key: Mapped[str] = mapped_column(String(100), index=True)  # bot/services/status.worst_first

    __table_args__ = (Index("ix_project_health_status_rag", "project_status", "rag", "confidence"),)


class PromptSchedule(Base):
    """When the check-in prompt job must next look at each project, so a tick reads only the
    projects whose cadence instant has come, not the portfolio.

    Derived, never edited: bot/services/checkins.py sets `check_at` to the project's next
    cadence instant once it has found the current one handled (prompted, answered, excused, or
    not owed: paused, no working channel, a skip date). The session hook in storage/health.py
    clears it (NULL: look at the next tick) and adds 1 to `version` in the same transaction as
    any change that could make a prompt due sooner: the project itself, its channel links, an
    incident's impact on it, a skip date removed; a change of the default cadence in the
    settings clears every row. The version makes sure a tick that read the project before such
    a change cannot set the old cadence's instant after it.
    """

    __tablename__ = "prompt_schedule"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
