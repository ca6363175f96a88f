"""Block Kit for the weekly PMO digest and the monthly governance pack. Pure: data in, blocks out.

Every line names its project: linked to the PMO alert about it when there is one (the
handler resolves permalinks for `alerts_to_link`), otherwise with the `/pmo status KEY`
that shows the record. Long lists end in "…and N more" so a large portfolio stays within
Slack's limits (50 blocks, 3,000 characters a section).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TypeVar

from bot.services.actions import working_days_text
from bot.services.confidence import Scale
from bot.services.digest import (
    Digest,
    EscalationLine,
    IncidentLine,
    RagChange,
    RagCounts,
    RuleFinding,
)
from bot.services.governance import NO_SPONSOR, ComplianceRate, ComplianceReport
from bot.services.pack import GovernancePack, ObjectiveProgress
from bot.services.risks import HIGH_SCORE
from handlers.blocks.benefits import not_measurable_section, pack_measurable_section
from handlers.blocks.coaching import (
    coaching_section,
    nobody_accountable_section,
    pack_coaching_section,
    pmo_owned_section,
)
from handlers.blocks.common import (
    SECTION_TEXT_LIMIT,
    Block,
    clip,
    context,
    divider,
    escaped,
    header,
    section,
    slack_date,
    slack_time,
    user,
)
from handlers.blocks.confidence import colour_name, level_badge, level_label
from handlers.blocks.cost import pack_cost_blocks
from handlers.blocks.escalations import reason_text
from handlers.blocks.milestones import digest_milestone_blocks
from handlers.blocks.risks import decision_age
from storage.models import Rag

# Lines shown per list; the rest are counted. Also bounds the permalinks fetched per digest.
MAX_LINES = 8
NAME_LIMIT = 80
DETAIL_LIMIT = 300
NO_STATUS_EMOJI = ":white_circle:"
NONE = "_None._"

Line = TypeVar("Line")


def _listed(title: str, lines: list[str], *, summary: str = "") -> str:
    """A bold title, how many, a summary, and up to MAX_LINES bullets within one section;
    the rest are counted."""
    heading = (f"*{title}* ({len(lines)})" if lines else f"*{title}*") + summary
    if not lines:
        return f"{heading}\n{NONE}"
    shown: list[str] = []
    used = len(heading)
    for index, line in enumerate(lines):
        left_after = len(lines) - index - 1
        reserve = len(f"\n…and {left_after} more") if left_after else 0
        entry = f"\n• {line}"
        if index == MAX_LINES or used + len(entry) + reserve > SECTION_TEXT_LIMIT:
            shown.append(f"\n…and {len(lines) - index} more")
            break
        shown.append(entry)
        used += len(entry)
    return heading + "".join(shown)


def _project(key: str, name: str, link: str | None) -> str:
    """The project, linked to its alert when there is one, else with the command that shows it."""
    label = f"{key} · {escaped(clip(name, NAME_LIMIT))}"
    return f"<{link}|{label}>" if link else f"*{label}* (`/pmo status {key}`)"


def _words(text: str) -> str:
    return escaped(clip(" ".join(text.split()), DETAIL_LIMIT))


def _green(scale: Scale) -> str:
    return colour_name(scale, Rag.GREEN)


def _red(scale: Scale) -> str:
    """The levels that count as Red ("Amber/Red or Red"): the rules reason on the RAG."""
    return colour_name(scale, Rag.RED)


def _change(now: int, before: int) -> str:
    difference = now - before
    return "no change" if difference == 0 else f"{difference:+d}"


def _counts_line(counts: RagCounts, scale: Scale, before: RagCounts | None = None) -> str:
    """The count at each level of the configured scale, best first."""
    parts = []
    earlier = dict(before.levels(scale)) if before is not None else None
    for level, count in counts.levels(scale):
        part = f"{level_badge(level)} *{count}*"
        if earlier is not None:
            part += f" ({_change(count, earlier[level])})"
        parts.append(part)
    parts.append(f"{NO_STATUS_EMOJI} No status *{counts.no_status}*")
    return "   ".join(parts)


# --- the digest -------------------------------------------------------------------------


def _shown(lines: list[Line]) -> list[Line]:
    return lines[:MAX_LINES]


def alerts_to_link(digest: Digest) -> list[str]:
    """Cause keys of the alerts the digest's shown lines would link to."""
    keys = [change.alert_cause_key for change in _shown(digest.turned_worse)]
    keys += [missed.alert_cause_key for missed in _shown(digest.missed)]
    keys += [incident.alert_cause_key for incident in _shown(digest.incidents)]
    keys += [escalation.cause_key for escalation in _shown(digest.unacknowledged)]
    return [key for key in dict.fromkeys(keys) if key]


def _turned_worse(changes: list[RagChange], links: Mapping[str, str], scale: Scale) -> list[str]:
    return [
        f"{_project(c.project_key, c.project_name, links.get(c.alert_cause_key or ''))}: "
        f"{level_label(scale, c.before, c.before_level)} → {level_label(scale, c.after, c.after_level)} ({c.period})"
        for c in changes
    ]


def _incident(incident: IncidentLine, links: Mapping[str, str]) -> str:
    label = f"{incident.key} · {incident.severity}"
    link = links.get(incident.alert_cause_key or "")
    subject = f"<{link}|{label}>" if link else f"*{label}*"
    affected = ", ".join(
        f"`{project.project_key}` "
        + (f"+{project.expected_delay_days} days" if project.expected_delay_days is not None else "not assessed yet")
        for project in incident.affected
    )
    return (
        f"{subject} {_words(incident.summary)} (since {slack_time(incident.declared_at)}): {affected}; "
        f"delay so far {incident.total_delay_days} days"
    )


def _escalation(escalation: EscalationLine, links: Mapping[str, str], scale: Scale) -> str:
    link = links.get(escalation.cause_key)
    subject = (
        f"{escalation.project_key} · {escaped(clip(escalation.project_name or '', NAME_LIMIT))}"
        if escalation.project_key
        else "Portfolio"
    )
    subject = f"<{link}|{subject}>" if link else f"*{subject}*"
    if not link and escalation.project_key:
        subject += f" (`/pmo status {escalation.project_key}`)"
    reason = " ".join(reason_text(escalation.kind, escalation.facts, scale=scale).split())
    return f"{subject}: {clip(reason, DETAIL_LIMIT)} (raised {slack_time(escalation.raised_at)})"


def _findings(findings: list[RuleFinding]) -> list[str]:
    return [f"{_project(f.project_key, f.project_name, None)}: {_words(' '.join(f.evidence))}" for f in findings]


def _rate(rate: ComplianceRate, name: str) -> str:
    percent = f"{rate.rate:.0%}" if rate.rate is not None else "n/a"
    text = f"{name} {percent} ({rate.answered} of {rate.owed})"
    if rate.excused:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(rate.excused.items()))
        text += f"; not counted: {reasons}"
    return text


def _judged(rates: Iterable[ComplianceRate]) -> list[ComplianceRate]:
    return [rate for rate in rates if rate.owed]


def _compliance_sections(report: ComplianceReport) -> list[Block]:
    programmes = [_rate(rate, escaped(clip(rate.name, NAME_LIMIT))) for rate in _judged(report.by_programme)]
    sponsors = [
        _rate(rate, rate.name if rate.name == NO_SPONSOR else user(rate.name)) for rate in _judged(report.by_sponsor)
    ]
    projects = [
        _rate(rate, f"*{rate.name}* (`/pmo status {rate.name}`)")
        for rate in _judged(report.by_project)
        if rate.answered < rate.owed
    ]
    return [
        section(
            f"*Fair compliance* since {slack_date(report.since)}: check-ins answered of those owed. Periods are not "
            "counted when an incident took the team, a skip date fell on them, or the lead was away."
        ),
        section(_listed("By programme, lowest first", programmes)),
        section(_listed("By sponsor, lowest first", sponsors)),
        section(_listed("Projects that missed any, lowest first", projects)),
    ]


def digest_text(digest: Digest) -> str:
    counts = ", ".join(f"{count} {level.label}" for level, count in digest.counts.levels(digest.scale))
    return (
        f"PMO digest {digest.period}: {counts}; "
        f"{len(digest.turned_worse)} turned worse, {len(digest.missed)} missed check-ins, "
        f"{len(digest.overdue)} overdue actions, {len(digest.unacknowledged)} escalations not acknowledged."
    )


DigestSection = Callable[[Digest, Mapping[str, str]], list[Block]]


def _status_section(digest: Digest, _links: Mapping[str, str]) -> list[Block]:
    return [
        section(
            "*Portfolio status*, change since last week\n"
            + _counts_line(digest.counts, digest.scale, digest.counts_week_ago)
        )
    ]


def _turned_worse_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return [section(_listed("Turned worse", _turned_worse(digest.turned_worse, links, digest.scale)))]


def _missed_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    missed = [
        f"{_project(m.project_key, m.project_name, links.get(m.alert_cause_key))}: {m.period}" for m in digest.missed
    ]
    return [section(_listed("Missed check-ins", missed))]


def _overdue_section(digest: Digest, _links: Mapping[str, str]) -> list[Block]:
    bands = " · ".join(f"{band.label}: {band.count}" for band in digest.overdue_bands)
    overdue = [
        f"{_project(a.project_key, a.project_name, None)}: “{_words(a.title)}” ({user(a.owner_user_id)}), "
        f"{working_days_text(a.days_overdue)} overdue"
        for a in digest.overdue
    ]
    return [
        section(_listed("Overdue actions", overdue, summary=f", by working days overdue: {bands}" if overdue else ""))
    ]


def _off_track_section(digest: Digest, _links: Mapping[str, str]) -> list[Block]:
    off_track = [
        f"{_project(b.project_key, b.project_name, None)}: {_words(b.benefit_name)} {b.latest.normalize():f} "
        f"{_words(b.unit)}, plan {b.expected.quantize(Decimal(1)):f} by now"
        for b in digest.off_track
    ]
    return [section(_listed("Benefits off trajectory", off_track))]


def _incidents_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return [
        section(_listed("Open incidents and the delay they cause", [_incident(i, links) for i in digest.incidents]))
    ]


def _escalations_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return [
        section(
            _listed(
                "Escalations not yet acknowledged",
                [_escalation(e, links, digest.scale) for e in digest.unacknowledged],
            )
        )
    ]


def _governance_rules_section(digest: Digest, _links: Mapping[str, str]) -> list[Block]:
    return [
        divider(),
        header("Governance rules"),
        section(_listed(f"Watermelons: {_green(digest.scale)} outside, red inside", _findings(digest.watermelons))),
        section(_listed("Stuck", _findings(digest.stuck))),
        *_compliance_sections(digest.compliance),
    ]


def _milestones_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return digest_milestone_blocks(digest.milestones)


def _raid_section(digest: Digest, _links: Mapping[str, str]) -> list[Block]:
    """Risks and issues: new risks scoring 15+ this week, open critical and high issues, late
    reviews and the decisions asked for, each line naming its project."""
    raid = digest.raid
    new_risks = [
        f"{_project(r.project_key, r.project_name, None)}: “{_words(r.title)}” score {r.score} "
        f"(probability {r.probability} × impact {r.impact}), owner {user(r.owner_user_id)}"
        for r in raid.new_high_risks
    ]
    issues = [
        f"{_project(p.project_key, p.project_name, None)}: {p.critical} critical, {p.high} high"
        for p in raid.high_issues
    ]
    total_critical = sum(p.critical for p in raid.high_issues)
    total_high = sum(p.high for p in raid.high_issues)
    reviews = [
        f"{_project(r.project_key, r.project_name, None)}: “{_words(r.title)}” ({user(r.owner_user_id)}), "
        f"review was due {slack_date(r.next_review)}"
        + (f", {working_days_text(r.review_overdue_days)} late" if r.review_overdue_days else "")
        for r in raid.overdue_reviews
    ]
    asked = [
        f"{_project(d.project_key, d.project_name, None)}: “{_words(d.question)}” {user(d.decider_user_id)} "
        f"to decide by {slack_date(d.due)}, {decision_age(d, raid.as_of)}"
        for d in raid.open_decisions
    ]
    return [
        divider(),
        header("Risks and issues"),
        section(_listed(f"New risks scoring {HIGH_SCORE}+ this week", new_risks)),
        section(
            _listed(
                "Open critical and high issues",
                issues,
                summary=f": {total_critical} critical, {total_high} high" if issues else "",
            )
        ),
        section(_listed("Risk reviews overdue", reviews)),
        section(_listed("Decisions asked for, still open", asked)),
    ]


def _coaching_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return coaching_section(digest.where_to_coach)


def _pmo_owned_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return [pmo_owned_section(digest.pmo_owned)]


def _nobody_accountable_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return [nobody_accountable_section(digest.nobody_accountable)]


def _not_measurable_section(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    return not_measurable_section(digest.not_measurable)


# The digest, top to bottom: a new section is one function above and one line here.
DIGEST_SECTIONS: tuple[DigestSection, ...] = (
    _status_section,
    _turned_worse_section,
    _missed_section,
    _overdue_section,
    _off_track_section,
    _milestones_section,
    _raid_section,
    _incidents_section,
    _escalations_section,
    _governance_rules_section,
    _coaching_section,
    _pmo_owned_section,
    _nobody_accountable_section,
    _not_measurable_section,
)


def digest_blocks(digest: Digest, links: Mapping[str, str]) -> list[Block]:
    """The digest; `links` maps alert cause keys to the alerts' permalinks."""
    return [
        header(f"PMO digest · {digest.period}"),
        *(block for build in DIGEST_SECTIONS for block in build(digest, links)),
        context(f"As of {slack_time(digest.generated_at)}. `/pmo digest` shows the current one, any time."),
    ]


# --- the governance pack ----------------------------------------------------------------


def _share(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "n/a"


def _objective(progress: ObjectiveProgress) -> str:
    name = escaped(clip(progress.objective, NAME_LIMIT))
    if not progress.measured:
        return f"*{name}*: {progress.benefits} benefits, none measured yet"
    return (
        f"*{name}*: realised {_share(progress.realised_share)} of target, plan {_share(progress.planned_share)} "
        f"by now ({progress.measured} of {progress.benefits} benefits measured, {progress.off_track} off trajectory)"
    )


def _health_summary(pack: GovernancePack) -> str:
    reports = [week.green + week.amber + week.red for week in pack.weeks]
    first, last = pack.weeks[0], pack.weeks[-1]
    total = sum(reports)
    red_share = sum(week.red for week in pack.weeks) / total if total else None
    return (
        f"*Portfolio health*, {first.period} to {last.period}: {total} check-ins, {_share(red_share)} of them "
        f"{_red(pack.scale)}, {sum(week.missed for week in pack.weeks)} missed. "
        f"Now: {_counts_line(pack.counts, pack.scale)}"
    )


def pack_text(pack: GovernancePack) -> str:
    return f"Governance pack for {pack.title}: portfolio health, benefits against plan, decisions needed."


def pack_blocks(pack: GovernancePack) -> list[Block]:
    decisions = [
        f"{_project(d.project_key, d.project_name, None)}, sponsor {user(d.sponsor_user_id)}: "
        f"“{_words(d.help_needed)}”"
        + (f" Path to green: {_words(d.path_to_green)}" if d.path_to_green else "")
        + (f" by {slack_date(d.path_to_green_date)}" if d.path_to_green_date else "")
        for d in pack.decisions
    ]
    return [
        header(f"Governance pack · {pack.title}"),
        section(_health_summary(pack)),
        section(_listed("Benefits realised against plan, by objective", [_objective(o) for o in pack.objectives])),
        *pack_measurable_section(pack.measurable),
        section(_listed(f"Decisions needed: {_red(pack.scale)} projects asking for help from above", decisions)),
        pack_coaching_section(pack.coaching_months),
        *pack_cost_blocks(pack.costs),
        context(
            "Charts follow: the RAG mix per week, benefits realised against plan by objective, "
            "and the coming quarter's milestones, baseline against forecast."
        ),
    ]


def pack_charts_comment(pack: GovernancePack, not_drawn: list[str]) -> str:
    missing = "".join(f"\n{title}: not enough data yet." for title in not_drawn)
    return f"Governance pack · {pack.title}: charts{missing}"
