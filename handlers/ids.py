"""Every action_id, block_id and callback_id the app uses, named once."""

from __future__ import annotations

import enum


class ActionId(enum.StrEnum):
    SHARE_PROJECT_RECORD = "project_record.share"


class CallbackId(enum.StrEnum):
    NEW_PROJECT = "project.new"


class NewProjectBlock(enum.StrEnum):
    """Block ids of the "new project" modal; each input's action_id is its block id."""

    KEY = "key"
    NAME = "name"
    SPONSOR = "sponsor"
    LEAD = "lead"
    OBJECTIVE = "objective"
    PROGRAMME = "programme"
    DESCRIPTION = "description"
