"""Headless Chromium for the page tests, and the screenshot in examples/figures/.

`start_chromium()` starts Debian's chromium through chromedriver (Selenium), offline and with a
fresh profile, logging the console and the network. `missing()` says why it cannot, so the tests
can skip with that reason.

Run `python tests/browser.py` to write examples/figures/backward_step.png: the fare net's page at
1280×800, mid-sweep.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1280, 800
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}")
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "examples" / "figures" / "backward_step.png"


def _find(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


def missing() -> str | None:
    """Why a browser test cannot run here (None when it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed (pip install -e ".[dev]")'
    if _find("chromium", "chromium-browser", "google-chrome") is None:
        return "no Chromium on PATH (apt-get install chromium chromium-driver)"
    if _find("chromedriver") is None:
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


def start_chromium() -> Any:
    """A headless Chromium at 1280×800 that logs its console and network (performance log)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser", "google-chrome")
    profile = tempfile.mkdtemp(prefix="minigrad-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(_find("chromedriver")), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    driver.profile_dir = profile
    return driver


def stop_chromium(driver: Any) -> None:
    """Quit the browser and remove its profile."""
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def requests(driver: Any) -> list[str]:
    """Every URL the browser asked for since the last call (from the DevTools performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver: Any) -> list[str]:
    """Console messages at error level since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def save_screenshot(path: Path = SCREENSHOT, step: int = 6) -> Path:
    """Write the fare net's page, open it and save a 1280×800 PNG of step `step` (1-based)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "examples")]
    from one_pass import write_backward_page

    with tempfile.TemporaryDirectory() as tmp:
        page = write_backward_page(Path(tmp) / "backward.html")
        driver = start_chromium()
        try:
            driver.get(page.as_uri())
            driver.execute_script("document.getElementById('slider').value = arguments[0];"
                                  "document.getElementById('slider').dispatchEvent(new Event('input'));", step - 1)
            driver.execute_script(
                "for (const g of document.querySelectorAll('#graph g.node')) {"
                "  if (g.querySelector('text') && g.querySelector('text').textContent === 'W2') {"
                "    g.dispatchEvent(new MouseEvent('click', {bubbles: true})); } }")
            path.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(path))
        finally:
            stop_chromium(driver)
    return path


if __name__ == "__main__":
    reason = missing()
    if reason:
        sys.exit(f"cannot take the screenshot: {reason}")
    print(f"wrote {save_screenshot()}")
