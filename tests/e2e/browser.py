"""A real ``session-tree ui`` beside a real server, and headless Chromium to look at it.

The browser is Debian's ``chromium`` driven through its ``chromedriver`` by
Selenium; nothing is downloaded. Where either is missing the test fails and
says how to install them: a browser test that skips proves nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")

CHROMIUM = os.environ.get("SESSION_TREE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SESSION_TREE_CHROMEDRIVER", "/usr/bin/chromedriver")
HOW_TO_INSTALL = (
    "The browser tests need Debian's chromium and chromium-driver: run `bash scripts/test` "
    "(it installs them where missing), or `apt-get install chromium chromium-driver`; "
    "SESSION_TREE_CHROMIUM and SESSION_TREE_CHROMEDRIVER name other binaries."
)


@dataclass
class UI:
    """A running ``session-tree ui``: its address with the token, and without."""

    url: str
    base: str
    token: str
    process: subprocess.Popen[str]


@contextmanager
def run_ui(db_path: str | Path, log: Path) -> Iterator[UI]:
    """``session-tree ui`` on ``db_path``, until the block ends (then SIGTERM, bounded)."""
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "session_tree.cli", "ui", "--db", str(db_path), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = _first_line(process, timeout=30)
            assert line.startswith("session-tree ui: http://127.0.0.1:"), (
                f"unexpected first line {line!r}\n{log.read_text()}"
            )
            url = line.removeprefix("session-tree ui: ").strip()
            base, _, token = url.partition("/?token=")
            yield UI(url=url, base=base, token=token, process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


def _first_line(process: subprocess.Popen[str], *, timeout: float) -> str:
    """The first line the process prints, waited for at most ``timeout`` s."""
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert lines, f"session-tree ui printed no address within {timeout} s"
    assert lines[0], "session-tree ui ended without printing its address"
    return lines[0]


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile; fails (never skips) without one."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        pytest.fail(f"no {', '.join(missing)}. {HOW_TO_INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,860",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    except WebDriverException as exc:
        pytest.fail(f"chromium did not start ({exc.msg}). {HOW_TO_INSTALL}")
    try:
        yield driver
    finally:
        driver.quit()


def wait(
    driver: WebDriver, check: Callable[[WebDriver], T | None], what: str, timeout: float = 30
) -> T:
    """``check(driver)`` once it is truthy, re-checked by Selenium for at most ``timeout`` s
    (an element replaced while it was looked at is looked for again)."""
    found = WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    ).until(lambda d: check(d) or None, message=f"{what} did not happen within {timeout} s")
    assert found is not None
    return found


def css(driver: WebDriver, selector: str) -> list[WebElement]:
    return driver.find_elements("css selector", selector)


def screenshot(driver: WebDriver, name: str) -> None:
    """A picture for the docs, written only when SESSION_TREE_SCREENSHOTS names a folder."""
    folder = os.environ.get("SESSION_TREE_SCREENSHOTS")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))
