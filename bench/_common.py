"""What the benchmarks share: their options (every bench parses them here), and for the
rate-limited ones (fanout, incident) the bot's settings and the report.

The rate-limited ones run the bot against the fake Slack with Slack's chat.postMessage
limits switched on (1 message/second/channel and an overall limit, over which it answers
429 + Retry-After), at the bot's default pacing unless `--messages-per-second` sets the
ceiling.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bot.demo.fake_slack import FakeSlack
from bot.settings import Settings, load_settings

TARGET_RATIO = 1.2
TARGET_RATE_LIMITED_SHARE = 0.02


@dataclass(frozen=True)
class Options:
    projects: int
    overall_per_second: float
    channel_per_second: float
    messages_per_second: float | None
    database_url: str | None


def parser(description: str, *, projects: int | list[int]) -> argparse.ArgumentParser:
    """The options every benchmark takes: the portfolio's size and the database.

    A list of default sizes makes `--projects` take several (the bench runs each in turn).
    """
    parsed = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if isinstance(projects, list):
        parsed.add_argument("--projects", type=int, nargs="+", default=projects, help="portfolio sizes, run in turn")
    else:
        parsed.add_argument("--projects", type=int, default=projects)
    parsed.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file; a PostgreSQL database is rebuilt"
    )
    return parsed


def chosen_database(url: str | None, scratch: str, name: str) -> str:
    """The database the bench runs on: the one given, or a fresh SQLite file in `scratch`."""
    return url or f"sqlite:///{scratch}/{name}.sqlite3"


def parse_options(description: str, *, projects: int) -> Options:
    """The rate-limited benchmarks' options: the common ones and the fake Slack's limits."""
    parsed = parser(description, projects=projects)
    parsed.add_argument("--overall-per-second", type=float, default=50.0, help="the fake's workspace-wide limit")
    parsed.add_argument("--channel-per-second", type=float, default=1.0, help="the fake's per-channel limit")
    parsed.add_argument(
        "--messages-per-second",
        type=float,
        default=None,
        help="SLACK_MESSAGES_PER_SECOND for the bot, its ceiling (default: unset, the bot's default)",
    )
    args = parsed.parse_args()
    return Options(
        args.projects, args.overall_per_second, args.channel_per_second, args.messages_per_second, args.database_url
    )


def limit_fake(fake: FakeSlack, options: Options) -> None:
    fake.set_rate_limit(
        per_channel_per_second=options.channel_per_second, overall_per_second=options.overall_per_second
    )


def bot_settings(fake: FakeSlack, database_url: str, options: Options, **extra: object) -> Settings:
    if options.messages_per_second is not None:
        extra["slack_messages_per_second"] = options.messages_per_second
    return load_settings(
        _env_file=None,
        slack_bot_token=fake.bot_token,
        slack_signing_secret="bench",
        slack_api_url=fake.url,
        database_url=database_url,
        **extra,
    )


@dataclass(frozen=True)
class Outcome:
    elapsed: float
    minimum: float
    calls: int
    rate_limited: int
    lost: int
    duplicated: int


def outcome(fake: FakeSlack, *, elapsed: float, minimum: float, per_channel: list[int]) -> Outcome:
    calls = fake.calls_to("chat.postMessage")
    return Outcome(
        elapsed=elapsed,
        minimum=minimum,
        calls=len(calls),
        rate_limited=sum(1 for call in calls if call.status == 429),
        lost=sum(1 for count in per_channel if count == 0),
        duplicated=sum(1 for count in per_channel if count > 1),
    )


def report(options: Options, database_url: str, settings: Settings, result: Outcome, *, timed: str) -> None:
    share = result.rate_limited / result.calls if result.calls else 0.0
    ceiling = "unset, default" if options.messages_per_second is None else "set"
    print(f"projects:            {options.projects}")
    print(f"database:            {database_url.split(':', 1)[0]}")
    print(
        f"limit:               {options.overall_per_second:g} msg/s overall, "
        f"{options.channel_per_second:g} msg/s/channel"
    )
    print(f"bot ceiling:         {settings.slack_messages_per_second:g} msg/s ({ceiling})")
    print(f"{timed + ':':<21}{result.elapsed:.1f} s")
    print(f"minimum possible:    {result.minimum:.1f} s")
    print(f"ratio:               {result.elapsed / result.minimum:.2f}  (target <= {TARGET_RATIO})")
    print(
        f"answered 429:        {result.rate_limited} of {result.calls} calls, {share:.1%}"
        f"  (target <= {TARGET_RATE_LIMITED_SHARE:.0%})"
    )
    print(f"lost:                {result.lost}  (target 0)")
    print(f"duplicated:          {result.duplicated}  (target 0)")
