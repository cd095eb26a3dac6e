"""The chat widget in a real browser (headless Chromium through Selenium) against a `qa serve`
process on the bundled KB: the keyboard, English and Chinese answers, a suggestion, feedback stored
in the KB, and errors shown in the chat. Slow: the first start builds the bundled KB (~1 minute).

Skips only when Debian's chromium or chromium-driver is not installed (.ci/run installs them).
A screenshot of the conversation is saved to artifacts/browser/widget.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from qa.kb.store import KnowledgeBase
from tests.conftest import serve_process

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "widget.png"
START_TIMEOUT = 600  # seconds: the first start embeds the whole bundled KB
WAIT = 30  # seconds for anything in the page


@dataclass
class Server:
    url: str
    db: Path  # the bundled KB the server built in its own data folder
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)")
    home = tmp_path_factory.mktemp("browser-home")
    # A module fixture starts before conftest's autouse (function) fixture, so the server gets its
    # own data and cache folders here: the bundled KB is built there, never in the real home.
    env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache")}
    env["HF_HUB_OFFLINE"] = "1"
    for name in ("QA_DB", "QA_TOKEN", "QA_SERVE_CONFIG"):
        env.pop(name, None)
    log = home / "serve.log"
    with serve_process([], env=env, log=log, timeout=START_TIMEOUT) as url:
        yield Server(url, home / "data" / "qa" / "default.db", log)


@pytest.fixture(scope="module")
def browser(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.binary_location = str(CHROMIUM)  # with the driver's path too: Selenium Manager never runs
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# ---- helpers ----------------------------------------------------------------------------------
def wait_for(driver: WebDriver, what: Callable[[WebDriver], Any], message: str) -> Any:
    return WebDriverWait(driver, WAIT).until(what, message)


def fresh_page(driver: WebDriver, server: Server) -> WebElement:
    """The demo page, loaded anew; returns the bubble once the widget is on screen."""
    driver.get(server.url + "/")
    bubble = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".qa-w-bubble"), "no bubble")[0]
    wait_for(driver, lambda d: bubble.is_displayed(), "the bubble is not shown")
    return bubble


def open_chat(driver: WebDriver, server: Server) -> WebElement:
    """Open the panel with a click; returns the question input."""
    fresh_page(driver, server).click()
    box = driver.find_element(By.CSS_SELECTOR, ".qa-w-input")
    wait_for(driver, lambda d: box.is_displayed(), "the panel did not open")
    return box


def replies(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, ".qa-w-log > .qa-w-bot:not(.qa-w-pending)")


def last_reply_after(driver: WebDriver, action: Callable[[], Any]) -> WebElement:
    """Do `action`, then wait for a new bot message in the chat and return it."""
    before = len(replies(driver))
    action()
    wait_for(driver, lambda d: len(replies(d)) > before, "no reply appeared in the chat")
    return replies(driver)[-1]


def ask(driver: WebDriver, question: str) -> WebElement:
    box = driver.find_element(By.CSS_SELECTOR, ".qa-w-input")
    return last_reply_after(driver, lambda: box.send_keys(question, Keys.ENTER))


def status_of(reply: WebElement) -> str:
    classes = (reply.get_attribute("class") or "").split()
    return next((c[5:] for c in classes if c in ("qa-w-answered", "qa-w-ambiguous", "qa-w-fallback")), "")


def text_of(reply: WebElement) -> str:
    return reply.find_element(By.CSS_SELECTOR, ".qa-w-text").text


def confidence_of(reply: WebElement) -> str:
    return reply.find_element(By.CSS_SELECTOR, ".qa-w-conf").text


# ---- tests ------------------------------------------------------------------------------------
def test_the_bubble_opens_with_the_keyboard_and_escape_closes(browser, server):
    bubble = fresh_page(browser, server)
    assert bubble.get_attribute("aria-expanded") == "false"
    assert bubble.get_attribute("aria-label")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)  # the first stop on the demo page
    assert browser.switch_to.active_element == bubble
    assert bubble.value_of_css_property("outline-style") == "solid", "no visible focus on the bubble"

    bubble.send_keys(Keys.ENTER)
    box = browser.find_element(By.CSS_SELECTOR, ".qa-w-input")
    wait_for(browser, lambda d: box.is_displayed(), "Enter on the bubble did not open the panel")
    assert bubble.get_attribute("aria-expanded") == "true"
    assert browser.switch_to.active_element == box, "the focus did not move into the input"
    assert box.get_attribute("aria-label") or browser.find_element(
        By.CSS_SELECTOR, f"label[for='{box.get_attribute('id')}']"
    )
    log = browser.find_element(By.CSS_SELECTOR, ".qa-w-log")
    assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")

    box.send_keys(Keys.ESCAPE)
    wait_for(browser, lambda d: not box.is_displayed(), "Escape did not close the panel")
    assert bubble.get_attribute("aria-expanded") == "false"
    assert browser.switch_to.active_element == bubble, "the focus did not go back to the bubble"


def test_no_animation_with_reduced_motion(browser, server):
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    try:
        open_chat(browser, server)
        panel = browser.find_element(By.CSS_SELECTOR, ".qa-w-panel")
        assert panel.value_of_css_property("animation-name") == "none"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    open_chat(browser, server)
    panel = browser.find_element(By.CSS_SELECTOR, ".qa-w-panel")
    assert panel.value_of_css_property("animation-name") == "qa-w-pop"


def test_a_conversation_in_english_and_chinese_with_a_suggestion_and_feedback(browser, server):
    open_chat(browser, server)
    kb = KnowledgeBase(server.db)
    try:
        helpful_before = kb.feedback_counts().get("en-import-csv", (0, 0))[0]

        en = ask(browser, "how do I import a CSV file?")
        assert status_of(en) == "answered", en.text
        assert "qa import" in text_of(en)
        assert re.fullmatch(r"\d{1,3}% confident", confidence_of(en)), confidence_of(en)

        # the Enter that ends an IME composition must not send: the widget cancels it
        cancelled = browser.execute_script(
            "const box = document.querySelector('.qa-w-input');"
            "const e = new KeyboardEvent('keydown',"
            "  {key: 'Enter', isComposing: true, bubbles: true, cancelable: true});"
            "return !box.dispatchEvent(e);"
        )
        assert cancelled, "Enter during IME composition was not cancelled"

        zh = ask(browser, "怎么导出知识库？")
        assert status_of(zh) == "answered", zh.text
        assert "qa export" in text_of(zh)
        assert re.search(r"\d{1,3}%", confidence_of(zh)), confidence_of(zh)

        # out of scope: "I don't know" (or "did you mean") with suggestions; pick the first one
        unsure = ask(browser, "what's the weather in paris?")
        assert status_of(unsure) in ("fallback", "ambiguous"), unsure.text
        assert re.search(r"\d{1,3}%", confidence_of(unsure))
        choice = unsure.find_elements(By.CSS_SELECTOR, ".qa-w-choice")[0]
        picked_question = choice.find_element(By.CSS_SELECTOR, ".qa-w-choice-q").text
        picked = last_reply_after(browser, choice.click)
        entry = next(e for e in kb.entries() if e.question == picked_question)
        assert text_of(picked) == entry.answer.replace("`", ""), "the picked entry's answer is not shown"
        assert "qa-w-error" not in (picked.get_attribute("class") or "")

        # thumbs up on the English answer: stored in the KB, buttons pressed and disabled
        up = en.find_element(By.CSS_SELECTOR, "button[aria-label='Helpful']")
        down = en.find_element(By.CSS_SELECTOR, "button[aria-label='Not helpful']")
        assert up.get_attribute("aria-pressed") == "false"
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", up)
        up.click()
        note = en.find_element(By.CSS_SELECTOR, ".qa-w-note")
        wait_for(browser, lambda d: note.text, "no note after the thumbs up")
        assert note.text == "Thanks!"
        assert up.get_attribute("aria-pressed") == "true"
        assert up.get_attribute("aria-disabled") == down.get_attribute("aria-disabled") == "true"
        assert kb.feedback_counts().get("en-import-csv", (0, 0))[0] == helpful_before + 1

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        # the log scrolled to the English answer: its pressed thumb, then the Chinese one below
        browser.execute_script("arguments[0].parentNode.scrollTop = arguments[0].offsetTop - 60", en)
        browser.save_screenshot(str(SCREENSHOT))
    finally:
        kb.close()


def test_errors_are_shown_in_the_chat(browser, server):
    box = open_chat(browser, server)
    too_long = ask(browser, "why " * 300)  # 1200 characters; the server's limit is 1000
    assert "qa-w-error" in (too_long.get_attribute("class") or "")
    assert "the limit is 1000" in text_of(too_long)

    # the server refuses feedback (it has a token the page does not know): 401
    en = ask(browser, "how do I import a CSV file?")
    browser.execute_script(
        "const real = window.fetch;"
        "window.fetch = (url, init) => String(url).endsWith('/feedback')"
        "  ? Promise.resolve(new Response(JSON.stringify({error: 'token'}), {status: 401}))"
        "  : real(url, init);"
    )
    en.find_element(By.CSS_SELECTOR, "button[aria-label='Not helpful']").click()
    note = en.find_element(By.CSS_SELECTOR, ".qa-w-note")
    wait_for(browser, lambda d: note.text, "no note after a refused thumbs down")
    assert note.text == "Feedback is not accepted here."

    # the server is unreachable
    browser.execute_script("window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));")
    offline = last_reply_after(browser, lambda: box.send_keys("hello", Keys.ENTER))
    assert "qa-w-error" in (offline.get_attribute("class") or "")
    assert "Cannot reach the FAQ server" in text_of(offline)
