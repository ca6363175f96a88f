"""People: Slack users the portfolio names, created the first time they appear."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.inserts import insert_unless_taken
from storage.models import Person

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def is_slack_user_id(text: str) -> bool:
    return bool(SLACK_USER_ID.match(text))


def get_by_slack_id(session: Session, slack_user_id: str) -> Person | None:
    return session.scalar(select(Person).where(Person.slack_user_id == slack_user_id))


def get_or_create(session: Session, slack_user_id: str, *, now: datetime, email: str | None = None) -> Person:
    person = get_by_slack_id(session, slack_user_id)
    if person is None:
        # Two requests may name a new person at the same moment; both end up with the one row.
        insert_unless_taken(
            session, Person, {"slack_user_id": slack_user_id, "email": email, "created_at": now}, ["slack_user_id"]
        )
        person = session.scalars(select(Person).where(Person.slack_user_id == slack_user_id)).one()
    elif email and not person.email:
        person.email = email
    return person
