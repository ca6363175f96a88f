"""Slack-facing code: listeners, Block Kit builders and scheduled-job bodies."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from handlers import (
    actions,
    benefits,
    cadence,
    channels,
    checkins,
    closure,
    coaching,
    commands,
    digest,
    escalations,
    history,
    home,
    incidents,
    live_services,
    milestones,
    nudges,
    overlaps,
    partners,
    projects,
    risks,
    status,
)

SUBCOMMANDS = (
    *projects.SUBCOMMANDS,
    *status.SUBCOMMANDS,
    *channels.SUBCOMMANDS,
    *cadence.SUBCOMMANDS,
    *checkins.SUBCOMMANDS,
    *actions.SUBCOMMANDS,
    *nudges.SUBCOMMANDS,
    *benefits.SUBCOMMANDS,
    *partners.SUBCOMMANDS,
    *closure.SUBCOMMANDS,
    *digest.SUBCOMMANDS,
    *live_services.SUBCOMMANDS,
    *incidents.SUBCOMMANDS,
    *history.SUBCOMMANDS,
    *risks.SUBCOMMANDS,
    *coaching.SUBCOMMANDS,
    *milestones.SUBCOMMANDS,
)


def register_all(app: App, ctx: AppContext) -> None:
    commands.register(app, ctx, SUBCOMMANDS)
    projects.register(app, ctx)
    channels.register(app, ctx)
    checkins.register(app, ctx)
    actions.register(app, ctx)
    escalations.register(app, ctx)
    benefits.register(app, ctx)
    status.register(app, ctx)
    home.register(app, ctx)
    overlaps.register(app, ctx)
    closure.register(app, ctx)
    live_services.register(app, ctx)
    incidents.register(app, ctx)
    history.register(app, ctx)
    risks.register(app, ctx)
    coaching.register(app, ctx)
    milestones.register(app, ctx)
