"""The report in a real browser: headless Chromium (Debian's) driven by Playwright. Run with
`make test-browser`, which installs Chromium and Playwright when missing; skipped, with the reason,
when either is unavailable."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e import HOSTILE

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(finished_run) -> Path:
    """The report of the shared tiny run (its registry carries a <script> string the page must not run)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test-browser installs Debian's chromium)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make test-browser installs it)")
    return finished_run / "results"


def test_report_opens_offline_without_errors(report):
    from playwright.sync_api import sync_playwright

    errors, requests, dialogs = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((report / "report.html").as_uri())
        page.wait_for_load_state("load")
        # the interactive bone-loss chart rendered, and hovering its median line shows the numbers
        page.wait_for_selector("#curves-tiny .main-svg", timeout=15_000)
        page.locator("#curves-tiny").scroll_into_view_if_needed()
        line = page.locator("#curves-tiny .scatterlayer .trace").last.locator("path.js-line")
        # the middle of the median line, in viewport coordinates
        point = line.evaluate("""el => { const p = el.getPointAtLength(el.getTotalLength() / 2);
                                         const m = el.getScreenCTM();
                                         return {x: m.a * p.x + m.c * p.y + m.e, y: m.b * p.x + m.d * p.y + m.f}; }""")
        page.mouse.move(point["x"] - 3, point["y"])
        page.mouse.move(point["x"], point["y"])
        page.wait_for_selector("#curves-tiny .hoverlayer .hovertext", timeout=5_000)
        hover = page.locator("#curves-tiny .hoverlayer").text_content()
        text = page.inner_text("body")
        headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        images_ok = page.eval_on_selector_all("img", "els => els.every(e => e.complete && e.naturalWidth > 0 && e.alt)")
        page.screenshot(path=str(report / "report-screenshot.png"), full_page=False)
        browser.close()
    assert errors == [] and dialogs == []
    assert HOSTILE in text  # shown as text, never run
    assert "median" in hover
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == [], f"the report fetched {external}"
    table = pd.read_csv(report / "tiny/summary/parameters.csv").set_index("quantity")
    assert f"{table.loc['menopause_loss', 'median']:.3g}" in text
    assert any("Summary" in h for h in headings) and any("Data" in h for h in headings)
    assert images_ok
    assert (report / "report-screenshot.png").stat().st_size > 10_000
