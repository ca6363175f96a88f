"""Headless Chromium for the demo's browser tests and screenshots (Debian's chromium and chromium-driver).

selenium is a dev dependency: it is imported only when a browser is started.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MISSING = "no headless browser here: install Debian's chromium and chromium-driver"


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None when either is not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


def start_chromium(profile_dir: Path, *, width: int = 1400, height: int = 1000) -> Any:
    """A selenium Chrome driver on a fresh profile; raises RuntimeError(MISSING) without Chromium."""
    from selenium import webdriver

    found = find_chromium()
    if found is None:
        raise RuntimeError(MISSING)
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
