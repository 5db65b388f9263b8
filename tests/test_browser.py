"""The report in a real browser: headless Chromium (Debian's) driven by Playwright. Run with
`make test-browser`, which installs Chromium and Playwright when missing; skipped, with the reason,
when either is unavailable. It looks at what a reviewer looks at: the picture on the first screen, a data
table that fits the page and sorts, a page that stays under its size budget and opens offline."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e import HOSTILE

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1280, "height": 900}
PAGE_BUDGET_BYTES = 4_000_000  # issue 16: the page at most 4 MB


@pytest.fixture(scope="module")
def report(finished_run) -> Path:
    """The report of the shared tiny run (its registry carries a <script> string the page must not run)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test-browser installs Debian's chromium)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make test-browser installs it)")
    return finished_run / "results"


@pytest.fixture
def page(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        page = browser.new_page(viewport=VIEWPORT)
        page.errors, page.requests, page.dialogs = [], [], []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto((report / "report.html").as_uri())
        page.wait_for_load_state("load")
        yield page
        browser.close()


def test_report_opens_offline_without_errors(report, page):
    text = page.inner_text("body")
    headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
    images_ok = page.eval_on_selector_all("img", "els => els.every(e => e.complete && e.naturalWidth > 0 && e.alt)")
    page.screenshot(path=str(report / "report-screenshot.png"), full_page=False)
    assert page.errors == [] and page.dialogs == []
    assert HOSTILE in text  # shown as text, never run
    external = [u for u in page.requests if not u.startswith(("file:", "data:"))]
    assert external == [], f"the report fetched {external}"
    table = pd.read_csv(report / "tiny/summary/parameters.csv").set_index("quantity")
    assert f"{table.loc['menopause_loss', 'median']:.3g}" in text
    assert any("Summary" in h for h in headings) and any("Data" in h for h in headings)
    assert images_ok
    assert "= >" not in text and "= <" not in text  # "P(any benefit) > 0.999", not "= > 0.999"
    assert (report / "report-screenshot.png").stat().st_size > 10_000


def test_first_screen_shows_the_headline_figure(page):
    """The picture of the answer is drawn and sits in the initial viewport, above the summary's words."""
    figure = page.locator("#headline-figure svg")
    assert figure.count() == 1
    box = figure.bounding_box()
    assert box is not None and box["height"] > 200 and box["width"] > 600
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box  # wholly on the first screen
    summary = page.locator("#h-summary").bounding_box()
    assert box["y"] + box["height"] <= summary["y"]  # before the text of the summary
    drawn = page.eval_on_selector("#headline-figure svg", """svg => ({
        paths: svg.querySelectorAll('path').length,
        painted: Array.from(svg.querySelectorAll('path')).filter(p => p.getBBox().width > 50).length,
        text: svg.textContent})""")
    assert drawn["painted"] >= 6  # two scenarios x (90% band, 50% band, median) at least
    for scenario in ("postmenopausal_low_mg", "postmenopausal_supplemented"):
        assert scenario in drawn["text"]
    assert "bone mass" in drawn["text"]


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#studies-table tbody tr:not([hidden])", f"rows => rows.map(r => r.cells[{index}].textContent.trim())")


def test_data_table_fits_the_page_sorts_and_filters(page):
    # fits: no horizontal scrolling of the page, the table inside its box
    widths = page.evaluate("""() => ({doc: document.documentElement.scrollWidth, view: window.innerWidth,
        table: document.querySelector('#studies-table').getBoundingClientRect().right,
        box: document.querySelector('#studies-table').closest('.table-box').getBoundingClientRect().right})""")
    assert widths["doc"] <= widths["view"], widths
    assert widths["table"] <= widths["box"] + 1, widths
    ids = _column(page, 0)
    assert len(ids) > 10
    header = page.locator("#studies-table thead th", has_text="study").first
    header.click()
    assert _column(page, 0) == sorted(ids, key=str.lower)
    assert page.get_attribute("#studies-table thead th >> nth=0", "aria-sort") == "ascending"
    header.click()
    assert _column(page, 0) == sorted(ids, key=str.lower, reverse=True)
    assert page.get_attribute("#studies-table thead th >> nth=0", "aria-sort") == "descending"
    # numbers sort as numbers (observations per outcome: by the study's row count)
    page.locator("#studies-table thead th", has_text="observations").click()
    counts = page.eval_on_selector_all("#studies-table tbody tr", "rows => rows.map(r => +r.cells[4].dataset.sort)")
    assert counts == sorted(counts) and counts[0] < counts[-1]
    # filters: species, then fitted in; the count says what is shown
    page.select_option("form[data-filters] select[name=species]", "rat")
    species = _column(page, 3)
    assert 0 < len(species) < len(ids) and set(species) == {"rat"}
    assert f"{len(species)} of {len(ids)}" in page.inner_text("form[data-filters] output")
    page.select_option("form[data-filters] select[name=species]", "")
    page.select_option("form[data-filters] select[name=fitted]", "tiny_rat")
    assert _column(page, 0) == ["Rude1998"]
    page.select_option("form[data-filters] select[name=fitted]", "")
    page.select_option("form[data-filters] select[name=outcome]", "serum_mg")
    rows = page.eval_on_selector_all("#studies-table tbody tr:not([hidden])",
                                     "rows => rows.map(r => r.dataset.outcome)")
    assert rows and all("serum_mg" in r.split("|") for r in rows)
    assert page.errors == []


def test_page_is_under_its_size_budget(report):
    html = (report / "report.html").read_bytes()
    assert len(html) <= PAGE_BUDGET_BYTES, f"report.html is {len(html) / 1e6:.2f} MB"
    assert html.count(b"<script") == 1  # the table script; no plotly.js


def test_headline_draws_the_claim_scenarios_and_any_drug_scenario():
    """Which scenarios the first-screen figure draws is read from the band table (no browser needed)."""
    from mgbone.reports.figures import headline_scenarios, headline_svg

    rows = []
    for name in ["woman_low_mg", "postmenopausal_low_mg", "postmenopausal_supplemented", "rat_10pct",
                 "postmenopausal_alendronate", "drug_zoledronate"]:
        for t in (0.0, 1.0, 2.0):
            rows.append({"scenario": name, "quantity": "bone_mass", "time_years": t, "age": 51 + t, "q5": 90 - t,
                         "q25": 95 - t, "q50": 97 - t, "q75": 98 - t, "q95": 99 - t})
    bands = pd.DataFrame(rows)
    claim = {"low_intake": "postmenopausal_low_mg", "supplemented": "postmenopausal_supplemented"}
    names = headline_scenarios(bands, claim)
    assert names == ["postmenopausal_low_mg", "postmenopausal_supplemented", "postmenopausal_alendronate",
                     "drug_zoledronate"]
    svg = headline_svg(bands, names, {}, 1.0, "SYNTHETIC bands")
    assert svg.startswith("<svg") and "drug_zoledronate" in svg and 'id="headline-' in svg


def test_disjoint_comparison_is_said_once_and_bounds_have_no_equals_sign():
    from mgbone.reports.html import loo_section, probability_relation

    reason = "analyses ['a', 'b'] share no observations: LOO cannot compare them"
    rows, note = loo_section([{"analysis": "a", "warning": reason, "elpd": float("nan")},
                              {"analysis": "b", "warning": reason}])
    assert rows == [] and note == reason
    shared = [{"analysis": "a", "elpd": -1.0, "warning": ""}, {"analysis": "b", "elpd": -2.0, "warning": ""}]
    assert loo_section(shared) == (shared, None)
    assert probability_relation(1.0) == "> 0.999" and probability_relation(0.0) == "< 0.001"
    assert probability_relation(0.27) == "= 0.27"
