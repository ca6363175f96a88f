"""Every action_id, block_id and callback_id the app uses, named once."""

from __future__ import annotations

import enum


class ActionId(enum.StrEnum):
    SHARE_PROJECT_RECORD = "project_record.share"


class CallbackId(enum.StrEnum):
    NEW_PROJECT = "project.new"
    NEW_BENEFIT = "benefit.new"
    REPORT_BENEFIT_VALUE = "benefit.report"


class NewProjectBlock(enum.StrEnum):
    """Block ids of the "new project" modal; each input's action_id is its block id."""

    KEY = "key"
    NAME = "name"
    SPONSOR = "sponsor"
    LEAD = "lead"
    OBJECTIVE = "objective"
    PROGRAMME = "programme"
    DESCRIPTION = "description"


class NewBenefitBlock(enum.StrEnum):
    """Block ids of the "new benefit" modal; each input's action_id is its block id."""

    NAME = "name"
    MEASURE = "measure"
    UNIT = "unit"
    BASELINE = "baseline"
    TARGET = "target"
    TARGET_DATE = "target_date"
    OWNER = "owner"


class BenefitValueBlock(enum.StrEnum):
    """Block ids of the "report a benefit value" modal; each input's action_id is its block id."""

    BENEFIT = "benefit"
    VALUE = "value"
    MEASURED_ON = "measured_on"
