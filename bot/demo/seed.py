"""The demo's sample council portfolio, built through the domain services as people would have.

Ten projects over three programmes and two objectives, four live services, benefits with a
few months of measurements, some actions (one overdue, one due on the first day), three weeks of check-in
history and one open incident. The Slack side (people, channels) is `populate_workspace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import actions, benefits, checkins, cost, incidents, live_services, milestones, portfolio
from bot.services.access import Actor
from bot.services.actions import NewAction
from bot.services.benefits import NewBenefit
from bot.services.cadence import period_of
from bot.services.checkins import CheckinInput
from bot.services.incidents import NewIncident
from bot.services.live_services import NewService
from bot.services.portfolio import NewProject
from storage.models import IncidentSeverity, Project, Rag
from storage.session import SessionFactory, unit_of_work

from .workspace import DemoSlack

TEAM_ID = "T0DEMO"
TIMEZONE = ZoneInfo("Europe/London")
CHECKIN_TIME = time(9, 30)
PMO_CHANNEL = "C0PMO"


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str
    role: str

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@council.example"


PMO_ADMIN = DemoPerson("U0PRIYA", "Priya Shah", "PMO admin")
SPONSOR_DIGITAL = DemoPerson("U0SAM", "Sam Okafor", "Sponsor, Director of Digital")
SPONSOR_PLACE = DemoPerson("U0HELEN", "Helen Marsh", "Sponsor, Director of Place")
LEAD_ONE = DemoPerson("U0LEE", "Lee Turner", "Project lead")
LEAD_TWO = DemoPerson("U0AISHA", "Aisha Khan", "Project lead")
PEOPLE = (PMO_ADMIN, SPONSOR_DIGITAL, SPONSOR_PLACE, LEAD_ONE, LEAD_TWO)

DIGITAL = "Digital by default"
CUSTOMER = "Customer first"
WORKPLACE = "Modern workplace"
ONLINE = "Better services online"
COSTS = "A council that costs less to run"

SERVICES = (
    ("PAY", "Payments platform", "Finance systems"),
    ("CRM", "Customer database", "Customer services IT"),
    ("WEB", "Council website", "Digital team"),
    ("HR", "HR and payroll", "People systems"),
)


@dataclass(frozen=True)
class DemoProject:
    key: str
    name: str
    programme: str
    objective: str
    sponsor: DemoPerson
    lead: DemoPerson
    services: tuple[str, ...]
    history: tuple[Rag, Rag, Rag]  # the overall status three, two and one weeks ago

    @property
    def channel_id(self) -> str:
        return "C0" + self.key.replace("-", "")

    @property
    def channel_name(self) -> str:
        return self.key.lower()


G, A, R = Rag.GREEN, Rag.AMBER, Rag.RED
PROJECTS = (
    DemoProject("CRM-2", "Customer records", CUSTOMER, ONLINE, SPONSOR_DIGITAL, LEAD_ONE, ("CRM",), (G, G, A)),
    DemoProject("PAY-1", "Online payments upgrade", DIGITAL, ONLINE, SPONSOR_DIGITAL, LEAD_ONE, ("PAY",), (A, R, R)),
    DemoProject("WEB-3", "Website redesign", DIGITAL, ONLINE, SPONSOR_DIGITAL, LEAD_TWO, ("WEB",), (A, A, G)),
    DemoProject(
        "HOU-4", "Housing repairs online", CUSTOMER, ONLINE, SPONSOR_PLACE, LEAD_TWO, ("CRM", "PAY"), (G, A, A)
    ),
    DemoProject("BIN-5", "Missed bin reporting", CUSTOMER, ONLINE, SPONSOR_PLACE, LEAD_ONE, ("WEB", "CRM"), (G, G, G)),
    DemoProject("LIB-6", "Library self-service", DIGITAL, COSTS, SPONSOR_PLACE, LEAD_TWO, ("WEB",), (G, G, G)),
    DemoProject("HR-7", "HR and payroll system", WORKPLACE, COSTS, SPONSOR_DIGITAL, LEAD_TWO, ("HR",), (R, A, A)),
    DemoProject("M365-8", "Microsoft 365 rollout", WORKPLACE, COSTS, SPONSOR_PLACE, LEAD_ONE, (), (G, G, A)),
    DemoProject("PARK-9", "Parking permits online", DIGITAL, ONLINE, SPONSOR_PLACE, LEAD_ONE, ("PAY",), (G, A, G)),
    DemoProject(
        "TAX-10", "Council tax e-billing", CUSTOMER, COSTS, SPONSOR_DIGITAL, LEAD_TWO, ("PAY", "CRM"), (A, A, G)
    ),
)

NOTES = {
    G: ("Build on plan; user testing booked.", "Finish the sprint and demo to the sponsor.", None),
    A: ("Supplier slipped a week on the interface.", "Agree a recovery plan with the supplier.", "Supplier delay"),
    R: ("Go-live at risk: card provider contract unsigned.", "Escalate the contract to legal.", "Contract unsigned"),
}


def demo_start(today: date) -> datetime:
    """The Monday on or after `today`, at the check-in time: the demo opens as prompts go out."""
    monday = today + timedelta(days=(7 - today.weekday()) % 7)
    return datetime.combine(monday, CHECKIN_TIME, tzinfo=TIMEZONE).astimezone(ZoneInfo("UTC"))


def populate_workspace(slack: DemoSlack) -> None:
    """The people and channels, everyone a member of every channel (a small council team)."""
    members = [person.user_id for person in PEOPLE]
    for person in PEOPLE:
        slack.add_user(person.user_id, email=person.email, name=person.name, tz="Europe/London")
    slack.add_channel(PMO_CHANNEL, "pmo", members=members)
    for project in PROJECTS:
        slack.add_channel(project.channel_id, project.channel_name, members=members)


def is_seeded(session_factory: SessionFactory) -> bool:
    with unit_of_work(session_factory) as session:
        return (session.scalar(select(func.count()).select_from(Project)) or 0) > 0


def seed_portfolio(session_factory: SessionFactory, start: datetime) -> None:
    """Everything the portfolio holds at `start`, as if the PMO had run it for a few months."""
    months_ago = start - timedelta(days=150)
    pmo = Actor(PMO_ADMIN.user_id, is_pmo_admin=True)
    with unit_of_work(session_factory) as session:
        for key, name, team in SERVICES:
            live_services.save_service(session, pmo, NewService(key, name, owning_team=team), now=months_ago)
        for demo in PROJECTS:
            project = portfolio.create_project(
                session,
                NewProject(
                    key=demo.key,
                    name=demo.name,
                    sponsor_user_id=demo.sponsor.user_id,
                    lead_user_id=demo.lead.user_id,
                    objective=demo.objective,
                    programme=demo.programme,
                ),
                now=months_ago,
            )
            portfolio.link_channel(session, pmo, demo.key, TEAM_ID, demo.channel_id, now=months_ago)
            portfolio.set_services(session, project, list(demo.services), now=months_ago)
        _seed_benefits(session, start)
        _seed_checkins(session, start)
        _seed_actions(session, start)
        _seed_incident(session, start)
        _seed_milestones(session, start)


def _seed_benefits(session: Session, start: datetime) -> None:
    created = start - timedelta(days=150)
    plans = (
        ("CRM-2", "Calls avoided", "Calls about address changes", "calls/month", "0", "5000", LEAD_ONE),
        ("PAY-1", "Payments made online", "Share of payments made online", "%", "40", "80", LEAD_ONE),
        ("TAX-10", "Paper bills avoided", "Council tax bills sent by email", "bills/year", "0", "30000", LEAD_TWO),
    )
    for key, name, measure, unit, baseline, target, owner in plans:
        benefit = benefits.create_benefit(
            session,
            Actor(PMO_ADMIN.user_id, is_pmo_admin=True),
            key,
            NewBenefit(
                name,
                measure,
                unit,
                Decimal(baseline),
                Decimal(target),
                created.date() + timedelta(days=365),
                owner.user_id,
            ),
            now=created,
            today=created.date(),
        )
        # Monthly measurements: the first two benefits keep pace, the last falls behind.
        for month in range(1, 5):
            measured = created + timedelta(days=30 * month)
            share = Decimal(month * 30) / Decimal(365) * (Decimal("1") if key != "TAX-10" else Decimal("0.4"))
            value = (Decimal(baseline) + (Decimal(target) - Decimal(baseline)) * share).quantize(Decimal("1"))
            benefits.report_value(
                session,
                Actor(owner.user_id, is_pmo_admin=False),
                benefit.id,
                value,
                measured.date(),
                now=measured,
                today=measured.date(),
            )


def _seed_checkins(session: Session, start: datetime) -> None:
    for weeks_ago, index in ((3, 0), (2, 1), (1, 2)):
        submitted = start - timedelta(weeks=weeks_ago) + timedelta(hours=2)
        period = period_of(submitted.astimezone(TIMEZONE).date())
        for demo in PROJECTS:
            rag = demo.history[index]
            progress, next_steps, risk = NOTES[rag]
            project = portfolio.get_project(session, demo.key)
            checkins.submit(
                session,
                project,
                Actor(demo.lead.user_id, is_pmo_admin=False),
                period,
                CheckinInput(
                    overall=rag,
                    progress=progress,
                    next_steps=next_steps,
                    risks_issues=risk,
                    path_to_green=None if rag is G else "Recovery plan agreed with the supplier",
                    path_to_green_date=None if rag is G else (start + timedelta(weeks=4)).date(),
                ),
                now=submitted,
                tolerance=0.1,
            )


def _seed_actions(session: Session, start: datetime) -> None:
    created = start - timedelta(days=14)
    planned = (
        ("CRM-2", "Agree the data-sharing protocol with adult social care", LEAD_ONE, 0),
        ("PAY-1", "Get the card provider contract signed", SPONSOR_DIGITAL, -1),
        ("HOU-4", "Book user testing with tenants", LEAD_TWO, 4),
        ("HR-7", "Confirm the payroll parallel run dates", LEAD_TWO, 9),
    )
    for key, title, owner, due_in_days in planned:
        actions.create_action(
            session,
            Actor(PMO_ADMIN.user_id, is_pmo_admin=True),
            NewAction(key, title, owner.user_id, (start + timedelta(days=due_in_days)).date()),
            today=created.date(),
            now=created,
        )


def _seed_milestones(session: Session, start: datetime) -> None:
    """A few milestones (one slipped past the day another project needs it) and two cost reports."""
    created = start - timedelta(days=60)
    pmo = Actor(PMO_ADMIN.user_id, is_pmo_admin=True)
    today = start.date()
    planned = (
        ("CRM-2", "Address data migrated", 10, 17),
        ("CRM-2", "Go live", 40, 40),
        ("HOU-4", "Tenant portal live", 30, 30),
        ("PAY-1", "Card provider contract signed", 5, 19),
    )
    made = {}
    for key, name, baseline_in, forecast_in in planned:
        new = milestones.NewMilestone(name, today + timedelta(days=baseline_in), today + timedelta(days=forecast_in))
        made[name] = milestones.create_milestone(session, pmo, key, new, now=created)
    milestones.create_dependency(
        session, pmo, "HOU-4", made["Address data migrated"].id, today + timedelta(days=14), now=created
    )
    for key, budget, forecast in (("CRM-2", "1200000", "1260000"), ("PAY-1", "800000", "920000")):
        project = portfolio.get_project(session, key)
        figures = cost.CostFigures(Decimal(budget), None, Decimal(budget) / 2, Decimal(forecast))
        cost.record_costs(
            session, project, figures, reported_by=LEAD_ONE.user_id, today=today, start_month=4, now=created
        )


def _seed_incident(session: Session, start: datetime) -> None:
    service = live_services.find_service(session, "WEB")
    assert service is not None
    incidents.declare(
        session,
        NewIncident(
            service_ids=(service.id,),
            severity=IncidentSeverity.SEV2,
            summary="Council website: forms failing to submit since the weekend's upgrade",
            declared_by_user_id=PMO_ADMIN.user_id,
        ),
        now=start - timedelta(minutes=30),
    )
