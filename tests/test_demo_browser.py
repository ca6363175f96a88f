"""`pmo-bot demo` in a real browser: headless Chromium clicks through what a newcomer would try.

The demo runs the real bot on the test database against the demo workspace; the browser
only sees the page. Skips, saying why, where Chromium or its driver is not installed
(`apt-get install chromium chromium-driver`; .ci/run installs them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.demo import seed
from bot.demo.browser import MISSING, find_chromium, start_chromium
from bot.demo.server import RunningDemo, running_demo
from bot.services import portfolio
from bot.services.portfolio import NewProject
from storage.session import unit_of_work

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

START = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # a Monday, 09:30 in London (GMT)
WAIT_SECONDS = 30  # a shared, loaded machine


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if find_chromium() is None:
        pytest.skip(f"{MISSING} to run the demo's browser tests")
    with tempfile.TemporaryDirectory(prefix="pmo-bot-chromium-") as profile:
        driver = start_chromium(Path(profile))
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def demo(engine: Engine, database_url: str) -> Iterator[RunningDemo]:
    with running_demo(database_url, start=START) as running:
        yield running


def _wait(browser: webdriver.Chrome, condition, message: str):  # type: ignore[no-untyped-def]
    """Waits for `condition`, trying again when the page redraws under it (as it does when Slack changes)."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.2, ignored_exceptions=ignored).until(
        condition, message
    )


def _find_message(driver: webdriver.Chrome, text: str, where: str) -> WebElement | None:
    return next((m for m in driver.find_elements(By.CSS_SELECTOR, f"{where} .message") if text in m.text), None)


def _message_text(browser: webdriver.Chrome, text: str, where: str = "#messages") -> str:
    """The whole text of the first message in `where` containing `text`, once there is one."""
    return _wait(
        browser,
        lambda driver: (message := _find_message(driver, text, where)) is not None and message.text,
        f"no message containing {text!r} in {where}",
    )


def _click_in_message(browser: webdriver.Chrome, text: str, selector: str, where: str = "#messages") -> None:
    def click(driver: webdriver.Chrome) -> bool:
        message = _find_message(driver, text, where)
        if message is None:
            return False
        message.find_element(By.CSS_SELECTOR, selector).click()
        return True

    _wait(browser, click, f"nothing to click ({selector}) in a message containing {text!r} in {where}")


def _click(browser: webdriver.Chrome, selector: str) -> None:
    _wait(browser, lambda driver: driver.find_element(By.CSS_SELECTOR, selector).click() or True, f"no {selector}")


def _be(browser: webdriver.Chrome, person: seed.DemoPerson) -> None:
    _wait(
        browser,
        lambda driver: Select(driver.find_element(By.ID, "who")).select_by_value(person.user_id) or True,
        f"{person.name} is not in the list of people",
    )


def _open_channel(browser: webdriver.Chrome, channel_id: str) -> None:
    _click(browser, f'#channels a[data-channel="{channel_id}"]')


def _modal(browser: webdriver.Chrome) -> WebElement:
    return _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "modal")), "no modal opened")


def _field(modal: WebElement, block_id: str) -> WebElement:
    return modal.find_element(By.CSS_SELECTOR, f'[data-block-id="{block_id}"] [data-action-id]')


def test_a_lead_submits_a_checkin_from_the_prompt_and_sees_it_answered(demo: RunningDemo, browser) -> None:
    browser.get(demo.url)
    _be(browser, seed.LEAD_ONE)
    _open_channel(browser, "C0CRM2")
    _click_in_message(browser, "Weekly check-in for CRM-2", '[data-action-id="checkin.submit"]')

    modal = _modal(browser)
    Select(_field(modal, "overall")).select_by_value("amber")
    browser.find_element(By.ID, "modal-submit").click()
    # The bot refuses Amber without a path to green, and the form says so where Slack would.
    error = _wait(
        browser,
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, '[data-block-id="path_to_green"] .error')),
        "no inline error under the path to green",
    )
    assert "path to green" in error.text

    modal = _modal(browser)
    assert Select(_field(modal, "overall")).first_selected_option.get_attribute("value") == "amber"  # kept
    _field(modal, "path_to_green").send_keys("Supplier fixes the interface by Friday")
    browser.execute_script("arguments[0].value = '2026-12-18'", _field(modal, "path_to_green_date"))
    browser.find_element(By.ID, "modal-submit").click()
    _wait(browser, expected_conditions.invisibility_of_element_located((By.ID, "modal")), "the form did not close")

    answered = _message_text(browser, "submitted by")
    assert "Weekly check-in for CRM-2" in answered and "Amber: submitted by @Lee Turner" in answered
    _click_in_message(browser, "submitted by", "[data-open-thread]")  # once the summary is in the thread
    summary = _message_text(browser, "Supplier fixes the interface by Friday", where="#thread")
    assert "Amber" in summary


def test_a_sponsor_runs_pmo_status_and_turns_the_page(demo: RunningDemo, browser) -> None:
    # Enough projects for a second page (20 to a page) beside the demo's own five for Sam.
    with unit_of_work(demo.demo.ctx.session_factory) as session:
        for number in range(1, 17):
            portfolio.create_project(
                session,
                NewProject(
                    key=f"EXTRA-{number}", name=f"Extra project {number}", sponsor_user_id=seed.SPONSOR_DIGITAL.user_id
                ),
                now=START,
            )
    browser.get(demo.url)
    _be(browser, seed.SPONSOR_DIGITAL)
    _open_channel(browser, "C0PMO")
    composer = browser.find_element(By.ID, "composer")
    composer.send_keys("/pmo status", Keys.ENTER)

    table = _message_text(browser, "Projects you sponsor")
    assert "Only visible to you" in table and "Page 1 of 2" in table
    _click_in_message(browser, "Page 1 of 2", '[data-action-id="status_table.next"]')
    second = _message_text(browser, "Page 2 of 2")
    assert "Only visible to you" in second
    assert len(browser.find_elements(By.XPATH, "//*[contains(@class,'message')][contains(., 'Page 1 of 2')]")) == 0


def test_the_next_working_day_brings_a_nudge_dm_for_an_overdue_action(demo: RunningDemo, browser) -> None:
    browser.get(demo.url)
    _be(browser, seed.LEAD_ONE)
    _click(browser, '#apps a[data-channel="app"]')
    _click(browser, '#tabs button[data-tab="messages"]')
    assert "Mon 23 Nov 2026, 09:30" in browser.find_element(By.ID, "now").text
    _wait(browser, expected_conditions.visibility_of_element_located((By.ID, "messages")), "no DM shown")
    assert "Agree the data-sharing protocol" not in browser.find_element(By.ID, "messages").text  # due today

    browser.find_element(By.CSS_SELECTOR, '[data-step="workday"]').click()

    _wait(
        browser,
        expected_conditions.text_to_be_present_in_element((By.ID, "now"), "Tue 24 Nov 2026, 09:30"),
        "the clock did not move to the next working day",
    )
    nudge = _message_text(browser, "Agree the data-sharing protocol")
    assert "overdue" in nudge.lower()


def test_the_home_tab_lists_the_check_ins_waiting_and_opens_the_form(demo: RunningDemo, browser) -> None:
    browser.get(demo.url)
    _be(browser, seed.LEAD_ONE)
    _click(browser, '#apps a[data-channel="app"]')

    _wait(
        browser,
        lambda driver: (tab := driver.find_element(By.ID, "home")).is_displayed() and "CRM-2" in tab.text,
        "the Home tab did not show Lee's projects",
    )
    _click(browser, '#home [data-action-id="checkin.submit"]')

    modal = _modal(browser)
    assert modal.text.startswith("Check-in 2026-W48") and _field(modal, "overall").tag_name == "select"


def test_mrkdwn_is_drawn_and_what_the_page_cannot_draw_is_shown_as_unsupported(demo: RunningDemo, browser) -> None:
    demo.demo.ctx.client.chat_postMessage(
        channel=seed.PMO_CHANNEL,
        text="A message with blocks the page does not draw",
        blocks=[
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Before* the unknown: <@U0LEE> in <#C0CRM2>, due <!date^1795770000^{date_short}|soon>",
                },
            },
            {
                "type": "video",
                "title": {"type": "plain_text", "text": "Walkthrough"},
                "video_url": "https://example.org/video.mp4",
                "thumbnail_url": "https://example.org/video.png",
                "alt_text": "a walkthrough",
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "workflow_button",
                        "action_id": "run_workflow",
                        "text": {"type": "plain_text", "text": "Run"},
                        "workflow": {"trigger": {"url": "https://slack.com/shortcuts/Ft0/abc"}},
                    }
                ],
            },
        ],
    )
    browser.get(demo.url)
    _be(browser, seed.PMO_ADMIN)
    _open_channel(browser, seed.PMO_CHANNEL)

    message = _message_text(browser, "Before the unknown")
    assert "Unsupported block: video" in message and "Unsupported element: workflow_button" in message
    assert "@Lee Turner in #crm-2, due 27 Nov 2026" in message  # mentions, channel links and dates drawn
    bold = _wait(
        browser,
        lambda driver: _find_message(driver, "Before the unknown", "#messages").find_element(By.TAG_NAME, "b").text,
        "the mrkdwn was not drawn",
    )
    assert bold == "Before"


def test_a_lead_records_an_incidents_impact_from_its_notice(demo: RunningDemo, browser) -> None:
    browser.get(demo.url)
    _be(browser, seed.LEAD_TWO)
    _open_channel(browser, "C0WEB3")
    _click_in_message(browser, "SEV2 on Council website", '[data-action-id="incident.record_impact"]')

    modal = _modal(browser)
    _field(modal, "delay").send_keys("5")
    _field(modal, "milestones").send_keys("Beta launch")
    browser.find_element(By.ID, "modal-submit").click()
    _wait(browser, expected_conditions.invisibility_of_element_located((By.ID, "modal")), "the form did not close")

    # The PMO's summary of the incident counts the delay the team just recorded.
    _open_channel(browser, seed.PMO_CHANNEL)
    summary = _message_text(browser, "Delay recorded so far: 5 days")
    assert "Impact recorded: 1 of 3" in summary and "WEB-3 · Website redesign: 5 days' delay expected" in summary
