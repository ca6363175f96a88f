"""Fetching the portfolio from an external portfolio system over HTTP (httpx).

The source answers `{"projects": [{...}, ...]}` with objects keyed by the spreadsheet's
column names (or names that PORTFOLIO_FIELD_MAP renames). Conditional requests
(ETag / If-None-Match) make an unchanged portfolio cost one 304.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """The source is down or answered something that is not a portfolio; the message says which."""


@dataclass(frozen=True)
class Fetched:
    projects: list[dict[str, Any]] | None  # None: not modified since the ETag we sent
    etag: str | None


def _backoff(attempt: int, response: httpx.Response | None, first_backoff: float) -> float:
    retry_after = response.headers.get("Retry-After") if response is not None else None
    if retry_after and retry_after.isdigit():
        return min(float(retry_after), MAX_BACKOFF_SECONDS)
    return min(first_backoff * 2**attempt, MAX_BACKOFF_SECONDS)


def fetch_portfolio(
    url: str,
    *,
    etag: str | None,
    token: str | None = None,
    field_map: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
    first_backoff: float = FIRST_BACKOFF_SECONDS,
) -> Fetched:
    """GET the portfolio with retries and backoff; raises SourceError when it cannot."""
    headers = {"Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    if token:
        headers["Authorization"] = f"Bearer {token}"
    owned = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        response = _get_with_retries(http, url, headers, first_backoff)
    finally:
        if owned:
            http.close()
    if response.status_code == 304:
        return Fetched(None, etag)
    if response.status_code != 200:
        raise SourceError(f"the source answered HTTP {response.status_code}")
    return Fetched(_projects(response, field_map or {}), response.headers.get("ETag"))


def _get_with_retries(http: httpx.Client, url: str, headers: dict[str, str], first_backoff: float) -> httpx.Response:
    last_problem = ""
    for attempt in range(MAX_ATTEMPTS):
        response: httpx.Response | None = None
        try:
            response = http.get(url, headers=headers)
        except httpx.HTTPError as error:
            last_problem = f"could not reach the source ({type(error).__name__})"
        else:
            if response.status_code not in RETRYABLE_STATUSES:
                return response
            last_problem = f"the source answered HTTP {response.status_code}"
        if attempt + 1 < MAX_ATTEMPTS:
            time.sleep(_backoff(attempt, response, first_backoff))
    raise SourceError(f"{last_problem} after {MAX_ATTEMPTS} attempts")


def _projects(response: httpx.Response, field_map: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        raise SourceError("the source did not answer JSON") from None
    projects = body.get("projects") if isinstance(body, dict) else None
    if not isinstance(projects, list) or not all(isinstance(project, dict) for project in projects):
        raise SourceError('the source answered JSON without a "projects" list of objects')
    return [{field_map.get(name, name): value for name, value in project.items()} for project in projects]
