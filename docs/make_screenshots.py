"""Screenshots of `pmo-bot demo` for the README, taken from the running demo so they stay current.

    python docs/make_screenshots.py            # writes docs/demo-*.png

Starts the demo on a fresh SQLite file at a fixed Monday 09:30, drives headless Chromium
(Debian's chromium and chromium-driver; selenium from the dev extras) through a prompt,
the check-in form, the status table, an incident notice and the Home tab, and saves each.
Emoji need a colour emoji font (Debian: fonts-noto-color-emoji).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.demo import seed  # noqa: E402
from bot.demo.browser import start_chromium  # noqa: E402
from bot.demo.server import running_demo  # noqa: E402

DOCS = Path(__file__).resolve().parent
START = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # a Monday, 09:30 in London
WAIT_SECONDS = 30


def _until(driver, condition: Callable, what: str):  # type: ignore[no-untyped-def]
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.2, ignored_exceptions=ignored).until(condition, what)


def _click(driver, selector: str) -> None:  # type: ignore[no-untyped-def]
    _until(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector).click() or True, f"no {selector}")


def _show_message(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    """Waits for a message containing `text` and scrolls it to the top of the list."""

    def found(d):  # type: ignore[no-untyped-def]
        message = next((m for m in d.find_elements(By.CSS_SELECTOR, "#messages .message") if text in m.text), None)
        if message is None:
            return False
        d.execute_script("arguments[0].scrollIntoView({block: 'start'})", message)
        return True

    _until(driver, found, f"no message containing {text!r}")


def _be(driver, person: seed.DemoPerson, channel_id: str) -> None:  # type: ignore[no-untyped-def]
    _until(
        driver, lambda d: Select(d.find_element(By.ID, "who")).select_by_value(person.user_id) or True, person.name
    )
    _click(driver, f'#channels a[data-channel="{channel_id}"]')


def _save(driver, name: str) -> None:  # type: ignore[no-untyped-def]
    path = DOCS / f"demo-{name}.png"
    driver.save_screenshot(str(path))
    print(f"wrote {path.relative_to(DOCS.parent)}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="pmo-bot-screenshots-") as scratch:
        database = Path(scratch) / "demo.sqlite3"
        with running_demo(f"sqlite:///{database}", start=START) as demo:
            driver = start_chromium(Path(scratch) / "chromium", width=1280, height=800)
            try:
                driver.get(demo.url)
                _be(driver, seed.LEAD_ONE, "C0CRM2")
                _show_message(driver, "Weekly check-in for CRM-2")
                _save(driver, "prompt")

                _click(driver, '#messages [data-action-id="checkin.submit"]')
                _until(driver, lambda d: d.find_element(By.ID, "modal").is_displayed(), "no form")
                modal = driver.find_element(By.ID, "modal")
                Select(modal.find_element(By.CSS_SELECTOR, '[data-action-id="overall"]')).select_by_value("amber")
                modal.find_element(By.CSS_SELECTOR, '[data-action-id="progress"]').send_keys(
                    "Address-change journey in user testing; supplier interface a week late."
                )
                driver.find_element(By.ID, "modal-submit").click()
                errors = _until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#modal .error"), "no inline errors")
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", errors[0])
                _save(driver, "form")
                driver.find_element(By.ID, "modal-close").click()

                _be(driver, seed.SPONSOR_DIGITAL, seed.PMO_CHANNEL)
                driver.find_element(By.ID, "composer").send_keys("/pmo status", Keys.ENTER)
                _show_message(driver, "Projects you sponsor")
                _save(driver, "status")

                _be(driver, seed.LEAD_TWO, "C0WEB3")
                _show_message(driver, "SEV2 on Council website")
                _save(driver, "incident")

                _click(driver, '#apps a[data-channel="app"]')
                _until(driver, lambda d: "Submit update" in d.find_element(By.ID, "home").text, "no Home tab")
                _save(driver, "home")
            finally:
                driver.quit()


if __name__ == "__main__":
    main()
