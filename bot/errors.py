"""Errors that users cause. Their message is shown to the user as is, so it says what to do."""

from __future__ import annotations


class UserError(Exception):
    """A request we refuse; `str(error)` is the ephemeral reply."""


class NotFound(UserError):
    pass


class NotAllowed(UserError):
    pass


class Conflict(UserError):
    pass
