"""Settings, read from the environment and a `.env` file.

Every value is checked once, at start-up; `load_settings` turns pydantic's validation
report into one plain line per bad value so an operator never sees a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import UserError
from bot.services.cadence import DAY_NAMES, Cadence, parse_time_of_day, parse_timezone, parse_weekday
from bot.services.calendar import default_bank_holidays, parse_bank_holidays
from bot.services.confidence import Scale
from bot.services.nudges import LADDER_EXAMPLE, Ladder, PassTime, parse_ladder
from bot.services.portfolio_csv import COLUMNS as PORTFOLIO_COLUMNS

DEFAULT_SQLITE_URL = "sqlite:///pmo-bot.sqlite3"

Parsed = TypeVar("Parsed")


def _as_value_error(parse: Callable[[str], Parsed], value: str) -> Parsed:
    """Pydantic reports ValueErrors; the cadence parsers raise UserErrors with the same wording."""
    try:
        return parse(value)
    except UserError as error:
        raise ValueError(str(error)) from None


class ConfigError(Exception):
    """The configuration cannot be used; `lines` holds one readable problem per entry."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_SQLITE_URL
    pmo_channel_id: str | None = None
    pmo_admin_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    default_timezone: str = "Europe/London"
    default_checkin_day: str = "mon"
    default_checkin_time: str = "09:30"
    checkin_reminder_hours: float = Field(default=24, gt=0)
    checkin_missed_hours: float = Field(default=48, gt=0)
    # The nudge ladder for overdue actions (README "Nudges and the ladder"): DAY:WHO steps in
    # working days overdue; then the owner again every NUDGE_REPEAT_DAYS (0: never); the PMO at
    # NUDGE_SPONSOR_OWNED_PMO_DAY instead when the owner is the sponsor (0: at the ladder's own
    # PMO step). Each person is reached at NUDGE_TIME in their own timezone.
    nudge_ladder: str = LADDER_EXAMPLE
    nudge_repeat_days: int = Field(default=5, ge=0, le=250)
    nudge_sponsor_owned_pmo_day: int = Field(default=5, ge=0, le=250)
    nudge_time: str = "09:30"
    # A benefit is off trajectory when it is behind the straight line by more than this
    # fraction of the distance from baseline to target.
    benefit_tolerance: float = Field(default=0.10, ge=0, le=1)
    # Cost: the month the financial year starts (4: April to March), and how far the forecast outturn
    # may stray from the budget, as a share of it, before the cost RAG is suggested Amber (twice: Red).
    financial_year_start: int = Field(default=4, ge=1, le=12)
    cost_tolerance: float = Field(default=0.05, ge=0, le=1)
    # The scale the check-in's overall status is given on: rag, dca3 or dca5 (bot/services/confidence.py).
    confidence_scale: Scale = Scale.RAG
    # The most messages per second the bot ever sends. Below it the bot finds Slack's own
    # limit by itself (bot/pacing.py); lower it only to leave room for other apps.
    slack_messages_per_second: float = Field(default=100, gt=0, le=1000)
    # The weekly "possible overlap" note to the PMO: its day and local time (in
    # DEFAULT_TIMEZONE), and how alike two projects' names and descriptions must be
    # (the share of their distinct words they have in common) to be suggested.
    overlap_day: str = "mon"
    overlap_time: str = "09:00"
    overlap_threshold: float = Field(default=0.35, gt=0, le=1)
    # The weekly PMO digest (in PMO_CHANNEL_ID) at this day and local time (DEFAULT_TIMEZONE),
    # and the monthly governance pack at the same time on the month's first working day, in
    # PACK_CHANNEL_ID (PMO_CHANNEL_ID when unset). DIGEST_ENABLED=false stops both.
    digest_enabled: bool = True
    digest_day: str = "mon"
    digest_time: str = "09:00"
    pack_channel_id: str | None = None
    # Optional sync from an external portfolio system (see README "Portfolio sync").
    portfolio_source_url: str | None = None
    portfolio_source_token: SecretStr | None = None
    portfolio_field_map: Annotated[dict[str, str], NoDecode] = {}
    sync_time: str = "06:00"
    # First wait before retrying a source that is down; it doubles per attempt (4 attempts).
    sync_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    # Inbound incident webhooks (README "Incident webhooks"). An endpoint whose secret is
    # unset answers 404. PagerDuty generates its own secret; without one set here, the
    # PagerDuty endpoint uses INCIDENT_WEBHOOK_SECRET.
    incident_webhook_secret: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    # Bank holidays on the skip list (README "Records and data protection"): england-and-wales,
    # scotland, northern-ireland, an ISO country code, or none; unset means england-and-wales
    # when DEFAULT_TIMEZONE is Europe/London, else none.
    bank_holidays: str | None = None
    # Years after a project's closure that its operational detail is kept (unset: for ever).
    retention_years_after_closure: int | None = Field(default=None, ge=1, le=100)
    port: int = Field(default=3000, ge=1, le=65535)
    # `pmo-bot serve`: worker processes (gunicorn forks them when more than 1; one process
    # serves through waitress otherwise) and request threads in each (README "Sizing").
    web_concurrency: int = Field(default=1, ge=1, le=64)
    web_threads: int = Field(default=8, ge=1, le=64)
    # Threads in each process that run listeners after the ack. Fewer than the request threads:
    # each busy listener thread takes the interpreter from the threads answering Slack, so the
    # acks' tail grows with them (README "Sizing"); work beyond them queues, in order.
    listener_threads: int = Field(default=4, ge=1, le=64)
    scheduler_enabled: bool = True
    auto_migrate: bool = False
    log_level: str = "INFO"

    @field_validator("pmo_admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("nudge_ladder")
    @classmethod
    def _ladder_steps(cls, value: str) -> str:
        _as_value_error(parse_ladder, value)
        return value

    @field_validator("nudge_time")
    @classmethod
    def _nudge_time_of_day(cls, value: str) -> str:
        return _as_value_error(parse_time_of_day, value)

    @field_validator("portfolio_field_map", mode="before")
    @classmethod
    def _parse_field_map(cls, value: object) -> object:
        """ "their_name=column,other=column": how the source's field names map onto ours."""
        if not isinstance(value, str):
            return value
        pairs = [part.strip() for part in value.split(",") if part.strip()]
        if any(pair.count("=") != 1 for pair in pairs):
            raise ValueError("write it as source_field=column pairs separated by commas, e.g. code=key,title=name")
        mapping = dict(tuple(side.strip() for side in pair.split("=")) for pair in pairs)
        unknown = sorted(set(mapping.values()) - set(PORTFOLIO_COLUMNS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a portfolio column ({', '.join(PORTFOLIO_COLUMNS)})")
        return mapping

    @field_validator("portfolio_source_url")
    @classmethod
    def _source_url_shape(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value or None

    @field_validator("bank_holidays")
    @classmethod
    def _known_bank_holidays(cls, value: str | None) -> str | None:
        return parse_bank_holidays(value) if value else None

    @field_validator("sync_time")
    @classmethod
    def _sync_time_of_day(cls, value: str) -> str:
        return _as_value_error(parse_time_of_day, value)

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _as_value_error(parse_timezone, value)

    @field_validator("default_checkin_day", "overlap_day", "digest_day")
    @classmethod
    def _known_day(cls, value: str) -> str:
        return DAY_NAMES[_as_value_error(parse_weekday, value)]

    @field_validator("default_checkin_time", "overlap_time", "digest_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _as_value_error(parse_time_of_day, value)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str) -> str:
        # Operators paste the URL their provider gives them; SQLAlchemy needs the driver named.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("pmo_channel_id", "pack_channel_id")
    @classmethod
    def _channel_id_shape(cls, value: str | None) -> str | None:
        if value and value[:1] not in ("C", "G"):
            raise ValueError(f"'{value}' is not a channel ID (they start with C or G, e.g. C0123ABCD)")
        return value or None

    def require(self, *names: str) -> None:
        """Fail with one line per setting that this command needs and that is unset."""
        missing = [name for name in names if not getattr(self, name.lower())]
        if missing:
            raise ConfigError([f"{name}: not set (set it in the environment or in .env)" for name in missing])

    def is_pmo_admin(self, user_id: str) -> bool:
        return user_id in self.pmo_admin_ids

    @property
    def default_cadence(self) -> Cadence:
        return Cadence(parse_weekday(self.default_checkin_day), self.default_checkin_time, self.default_timezone)

    @property
    def ladder(self) -> Ladder:
        return Ladder(
            parse_ladder(self.nudge_ladder),
            repeat_owner_every=self.nudge_repeat_days,
            sponsor_owned_pmo_day=self.nudge_sponsor_owned_pmo_day or None,
        )

    @property
    def nudge_pass(self) -> PassTime:
        return PassTime(time.fromisoformat(self.nudge_time), ZoneInfo(self.default_timezone))

    @property
    def overlap_cadence(self) -> Cadence:
        return Cadence(parse_weekday(self.overlap_day), self.overlap_time, self.default_timezone)

    @property
    def digest_cadence(self) -> Cadence:
        return Cadence(parse_weekday(self.digest_day), self.digest_time, self.default_timezone)

    @property
    def bank_holiday_region(self) -> str:
        return self.bank_holidays or default_bank_holidays(self.default_timezone)

    @property
    def pack_channel(self) -> str | None:
        return self.pack_channel_id or self.pmo_channel_id

    @property
    def bot_token(self) -> str:
        self.require("SLACK_BOT_TOKEN")
        assert self.slack_bot_token is not None
        return self.slack_bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings, raising ConfigError with readable lines."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise ConfigError(lines) from None
