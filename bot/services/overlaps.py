"""Possible overlaps: active projects that may be one effort run by two teams with two budgets.

A pair of active projects is a possible overlap when

(a) they share an objective and their texts are similar: the Jaccard index of their word
    sets (shared words / distinct words in either) reaches a threshold. The texts are the
    names plus descriptions when both projects have a description, and the names alone
    otherwise, so a long description never dilutes a comparison with a bare name; or
(b) they depend on at least one same service and measure at least one same benefit
    (benefit measures compared case-insensitively), whatever their objectives.

Words are lower-cased, split on anything but letters and digits, made singular the
regular English way ("records" counts as "record", "policies" as "policy"), and words
that say nothing about what a project does ("the", "project", "new", "system") are
dropped. The note shows the score and the shared words, so the PMO sees why a pair was
suggested.

Rule (a) compares projects only within their objective group, and rule (b) only projects
that share a (service, measure) combination, so the work grows with the size of the
groups rather than with the square of the portfolio. A PMO admin's verdict on a pair is
a Decision under `pair_key`; decided pairs are never suggested again.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotAllowed, UserError
from bot.services import people
from storage.models import (
    Benefit,
    Decision,
    Objective,
    Person,
    Project,
    ProjectService,
    ProjectStatus,
    Service,
    ServiceRelation,
)

SUBJECT_PREFIX = "overlap:"

# The PMO's verdicts, as stored in Decision.outcome.
SAME_EFFORT = "same_effort"
DIFFERENT = "different"
COMBINE = "combine"
OUTCOMES = (SAME_EFFORT, DIFFERENT, COMBINE)

# Words that make unrelated projects look alike: common English, and what every project is.
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is"),
        *("it", "its", "of", "on", "or", "our", "so", "that", "the", "their", "them", "this", "to", "up"),
        *("us", "was", "we", "were", "will", "with", "within"),
        *("new", "project", "programme", "phase", "stage", "system", "improvement", "improve", "improving"),
    }
)
_WORD = re.compile(r"[a-z0-9]+")


# --- the similarity score (pure) ---------------------------------------------------------


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> frozenset[str]:
    """The words of `text` that say what a project is about, normalised for comparison."""
    found = (_singular(word) for word in _WORD.findall(text.lower()) if not word.isdigit())
    return frozenset(word for word in found if len(word) > 1 and word not in STOP_WORDS)


@dataclass(frozen=True)
class Similarity:
    score: float  # Jaccard index: len(shared_words) / distinct_words, 0 to 1
    shared_words: tuple[str, ...]  # sorted
    distinct_words: int  # words in either text


def jaccard(first: frozenset[str], second: frozenset[str]) -> Similarity:
    union = first | second
    shared = first & second
    return Similarity(len(shared) / len(union) if union else 0.0, tuple(sorted(shared)), len(union))


def similarity(first: str, second: str) -> Similarity:
    """How alike two texts are, with the evidence: the words they share."""
    return jaccard(words(first), words(second))


def normalise_measure(measure: str) -> str:
    """Benefit measures match whatever their case and spacing."""
    return " ".join(measure.split()).casefold()


# --- finding pairs (pure) ------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectProfile:
    """What overlap detection reads about one project."""

    key: str
    name: str
    description: str | None = None
    objective: str | None = None
    services: frozenset[str] = frozenset()  # keys of services it depends on
    measures: tuple[str, ...] = ()  # its active benefits' measures, as written

    # Worked out once per project rather than once per comparison.
    @cached_property
    def name_words(self) -> frozenset[str]:
        return words(self.name)

    @cached_property
    def name_and_description_words(self) -> frozenset[str]:
        return words(f"{self.name} {self.description or ''}")

    @cached_property
    def normalised_measures(self) -> frozenset[str]:
        return frozenset(normalise_measure(measure) for measure in self.measures)


def pair_key(first_key: str, second_key: str) -> str:
    """The Decision subject of a pair: the same whichever project comes first."""
    low, high = sorted((first_key, second_key))
    return f"{SUBJECT_PREFIX}{low}:{high}"


@dataclass(frozen=True)
class PossibleOverlap:
    """Two projects that may be one effort, and the evidence for saying so."""

    first: ProjectProfile  # the one whose key sorts first
    second: ProjectProfile
    shared_objective: str | None
    similarity: Similarity | None  # set when they share an objective
    compared_descriptions: bool  # whether the similarity includes the descriptions
    similar_texts: bool  # rule (a): a shared objective and a score at the threshold or above
    shared_services: tuple[str, ...]
    shared_measures: tuple[str, ...]  # as the first project writes them

    @property
    def subject_key(self) -> str:
        return pair_key(self.first.key, self.second.key)

    @property
    def shares_services_and_measures(self) -> bool:
        """Rule (b)."""
        return bool(self.shared_services and self.shared_measures)


def _compared_words(first: ProjectProfile, second: ProjectProfile) -> tuple[frozenset[str], frozenset[str], bool]:
    """The word sets rule (a) compares, and whether they include the descriptions."""
    if first.description and second.description:
        return first.name_and_description_words, second.name_and_description_words, True
    return first.name_words, second.name_words, False


def _evidence(first: ProjectProfile, second: ProjectProfile, threshold: float) -> PossibleOverlap:
    if second.key < first.key:
        first, second = second, first
    shared_objective = first.objective if first.objective and first.objective == second.objective else None
    first_words, second_words, with_descriptions = _compared_words(first, second)
    score = jaccard(first_words, second_words) if shared_objective else None
    return PossibleOverlap(
        first=first,
        second=second,
        shared_objective=shared_objective,
        similarity=score,
        compared_descriptions=with_descriptions,
        similar_texts=score is not None and score.score >= threshold,
        shared_services=tuple(sorted(first.services & second.services)),
        shared_measures=tuple(
            dict.fromkeys(m for m in first.measures if normalise_measure(m) in second.normalised_measures)
        ),
    )


def candidate_pairs(profiles: Sequence[ProjectProfile]) -> set[tuple[int, int]]:
    """Index pairs worth comparing: those in the same objective, or with a (service, measure)
    in common. Every possible overlap is among them, and only they cost a comparison."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, profile in enumerate(profiles):
        if profile.objective:
            groups[("objective", profile.objective)].append(index)
        for service, measure in itertools.product(profile.services, profile.normalised_measures):
            groups[("service and measure", service, measure)].append(index)
    return {pair for members in groups.values() for pair in itertools.combinations(members, 2)}


def _qualifies(first: ProjectProfile, second: ProjectProfile, threshold: float) -> bool:
    """Rules (a) and (b) without the evidence: the cheap test every candidate pair gets."""
    if first.services & second.services and first.normalised_measures & second.normalised_measures:
        return True
    if not first.objective or first.objective != second.objective:
        return False
    first_words, second_words, _ = _compared_words(first, second)
    shared = len(first_words & second_words)
    distinct = len(first_words) + len(second_words) - shared
    return distinct > 0 and shared / distinct >= threshold


def find_overlaps(
    profiles: Sequence[ProjectProfile], *, threshold: float, decided: Iterable[str] = ()
) -> list[PossibleOverlap]:
    """Possible overlaps among `profiles` not yet decided, the strongest evidence first:
    pairs meeting both rules, then by similarity score, then by keys."""
    skip = set(decided)
    found = [
        _evidence(profiles[first], profiles[second], threshold)
        for first, second in candidate_pairs(profiles)
        if _qualifies(profiles[first], profiles[second], threshold)
        and pair_key(profiles[first].key, profiles[second].key) not in skip
    ]

    def strength(overlap: PossibleOverlap) -> tuple[int, float, str]:
        both = overlap.similar_texts and overlap.shares_services_and_measures
        score = overlap.similarity.score if overlap.similarity else 0.0
        return (0 if both else 1, -score, overlap.subject_key)

    return sorted(found, key=strength)


# --- the portfolio -------------------------------------------------------------------------


def active_profiles(session: Session) -> list[ProjectProfile]:
    """Every active project's profile, read as plain columns: a portfolio of thousands loads
    in three queries without building ORM objects."""
    active = Project.status == ProjectStatus.ACTIVE
    services: dict[int, set[str]] = defaultdict(set)
    for project_id, service_key in session.execute(
        select(ProjectService.project_id, Service.key)
        .join(Service, Service.id == ProjectService.service_id)
        .join(Project, Project.id == ProjectService.project_id)
        .where(active, ProjectService.relation == ServiceRelation.DEPENDS_ON)
    ):
        services[project_id].add(service_key)
    measures: dict[int, list[str]] = defaultdict(list)
    for project_id, measure in session.execute(
        select(Benefit.project_id, Benefit.measure)
        .join(Project, Project.id == Benefit.project_id)
        .where(active, Benefit.is_active, Benefit.measure.is_not(None))
        .order_by(Benefit.id)
    ):
        measures[project_id].append(measure)
    rows = session.execute(
        select(Project.id, Project.key, Project.name, Project.description, Objective.name)
        .outerjoin(Objective, Objective.id == Project.objective_id)
        .where(active)
        .order_by(Project.key)
    )
    return [
        ProjectProfile(
            key=key,
            name=name,
            description=description,
            objective=objective,
            services=frozenset(services[project_id]),
            measures=tuple(measures[project_id]),
        )
        for project_id, key, name, description, objective in rows
    ]


def decided_pair_keys(session: Session) -> set[str]:
    return set(session.scalars(select(Decision.subject_key).where(Decision.subject_key.startswith(SUBJECT_PREFIX))))


def undecided_overlaps(session: Session, *, threshold: float) -> list[PossibleOverlap]:
    """What the week's note shows: every possible overlap among active projects that no one has decided."""
    return find_overlaps(active_profiles(session), threshold=threshold, decided=decided_pair_keys(session))


# --- the PMO's verdict ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    subject_key: str
    outcome: str
    decided_by_user_id: str | None
    decided_at: datetime


def verdicts(session: Session, subject_keys: Iterable[str]) -> dict[str, Verdict]:
    """The standing verdict on each of these pairs that has one: the first recorded."""
    keys = set(subject_keys)
    if not keys:
        return {}
    rows = session.execute(
        select(Decision, Person.slack_user_id)
        .outerjoin(Person, Person.id == Decision.decided_by_id)
        .where(Decision.subject_key.in_(keys))
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    )
    # Newest first, so the earliest decision is the one left in the dict.
    return {
        decision.subject_key: Verdict(decision.subject_key, decision.outcome, user_id, decision.decided_at)
        for decision, user_id in rows
    }


def decide(
    session: Session,
    subject_key: str,
    outcome: str,
    slack_user_id: str,
    *,
    is_pmo_admin: bool,
    note: str | None,
    now: datetime,
) -> Decision:
    """Record a PMO admin's verdict on a pair; the first verdict stands."""
    if not is_pmo_admin:
        raise NotAllowed("Only PMO admins can decide on possible overlaps.")
    if outcome not in OUTCOMES or not subject_key.startswith(SUBJECT_PREFIX):
        raise UserError("That choice is not one the overlap note offers.")
    earlier = verdicts(session, [subject_key]).get(subject_key)
    if earlier is not None:
        by = f" by <@{earlier.decided_by_user_id}>" if earlier.decided_by_user_id else ""
        raise Conflict(f"This pair was already decided{by}: {earlier.outcome.replace('_', ' ')}.")
    decision = Decision(
        subject_key=subject_key,
        outcome=outcome,
        note=note,
        decided_by_id=people.get_or_create(session, slack_user_id, now=now).id,
        decided_at=now,
    )
    session.add(decision)
    session.flush()
    return decision
