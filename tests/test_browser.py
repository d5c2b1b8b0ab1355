"""The rendered book in a real browser: serve the session's `ci` build on localhost, open every page in headless
Chromium and check what a reader would see: no error output, no broken image or missing local file, no glue value
missing, no internal link to nowhere; and that the book reads cleanly on a 1280-px screen: no numpy repr
(`np.float64(10.9)`) in the text, no code line past the page column, no table wider than the column unless it
scrolls inside its own box. One screenshot per page goes to `_build/screenshots/`.

Without a Chromium on the machine the test is skipped with a message, except under `CI=true` (then it fails:
`.ci/run` installs Chromium from the system packages).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from lib import book
from lib.provenance import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
EMPTY_VALUES = {"", "nan", "NaN", "None", "<NA>", "NaT"}
# sphinx-thebe 0.3.1 registers its inline config script from an `env-before-read-docs` handler, and Sphinx 7
# writes such scripts twice, so every page redeclares `const THEBE_JS_URL`. Harmless: the first declaration
# stands and thebe is off (no live-code button). Every other JavaScript error fails the check.
KNOWN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

# What an error looks like in a rendered page: myst-nb's error/traceback outputs, docutils' problem reports,
# and a glue value that was not found or is empty.
PAGE_PROBLEMS_JS = """() => {
  const text = el => (el.innerText || el.textContent || '').trim().slice(0, 200);
  const all = sel => Array.from(document.querySelectorAll(sel));
  return {
    errors: all('.output.traceback, .output.error, div.cell_output .traceback').map(text),
    problems: all('.problematic, .system-message').map(text),
    broken_images: all('img').filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute('src')),
    pasted: all('.pasted-text, .pasted-inline').map(text),
    unrendered_roles: (document.querySelector('main') || document.body).innerText.match(/\\{glue(:[a-z]+)?\\}`[^`]*`/g) || [],
    tracebacks: document.body.innerText.includes('Traceback (most recent call last)'),
    links: all('a[href]').map(a => a.getAttribute('href')),
    numpy_reprs: numpyReprs(),
    code_past_column: all('div.cell_input pre').filter(pre => pre.offsetParent !== null && (
        pre.scrollWidth > pre.clientWidth + 1 || pre.getBoundingClientRect().right > columnRight(pre) + 1))
      .map(pre => longestLine(pre)),
    tables_past_column: all('main table').filter(t => t.offsetParent !== null && !tableFits(t))
      .map(t => text(t.querySelector('tr') || t).replace(/\\s+/g, ' ').slice(0, 80)),
  };
  // the right edge of the page column an element sits in (the article, without the side bars)
  function columnRight(el) {
    const column = el.closest('article') || el.closest('main') || document.body;
    return column.getBoundingClientRect().right;
  }
  function longestLine(pre) {
    const lines = (pre.innerText || '').split('\\n');
    const line = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return line.length + ' columns: ' + line.trim().slice(0, 60);
  }
  // a table fits when it ends inside the column, or when a box between it and the column scrolls sideways
  // and itself ends inside the column
  function tableFits(table) {
    const right = columnRight(table);
    if (table.getBoundingClientRect().right <= right + 1) return true;
    for (let el = table; el && el.tagName !== 'ARTICLE' && el.tagName !== 'MAIN'; el = el.parentElement) {
      const style = getComputedStyle(el);
      if (['auto', 'scroll'].includes(style.overflowX) && el.getBoundingClientRect().right <= right + 1) return true;
    }
    return false;
  }
  // numpy's repr of a scalar ("np.float64(10.9)") in prose or in an output; code as written is left out
  function numpyReprs() {
    const root = document.querySelector('main') || document.body;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const found = [];
    const pattern = /\\b(np|numpy)\\.(float|int|uint|bool|str|bytes|complex|datetime|timedelta)\\w*\\(/;
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const el = node.parentElement;
      if (el.closest('div.cell_input') || (el.closest('pre, code') && !el.closest('div.cell_output'))) continue;
      const match = node.textContent.match(pattern);
      if (match) {   // shown in its sentence (or output line), as the reader meets it
        const block = (el.closest('p, li, td, th, pre, dd, dt, h1, h2, h3, h4') || el).innerText;
        const at = block.indexOf(match[0]);
        found.push(block.slice(Math.max(0, at - 40), at + 50).trim());
      }
    }
    return found;
  }
}"""


def find_chromium() -> str | None:
    """The system Chromium (or Chrome) executable, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_skip() -> str:
    """The Chromium to use; skip the test with a message when there is none, fail under ``CI=true``."""
    path = find_chromium()
    if path is None:
        message = (f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)} on PATH); install it with "
                   "'apt-get install chromium' to run the browser check")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — CI=true, so the browser check may not be skipped")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def chromium_path():
    return chromium_or_skip()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is http.server's
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on http://127.0.0.1:<free port> while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _internal_targets(page: Path, hrefs: list[str], html: Path) -> list[str]:
    """The internal links of ``page`` whose target file does not exist in the rendered site."""
    missing = []
    for href in hrefs:
        parsed = urlparse(href)
        if parsed.scheme or parsed.netloc or href.startswith(("#", "mailto:", "javascript:")) or not parsed.path:
            continue
        target = (page.parent / parsed.path).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists() or html.resolve() not in target.parents:
            missing.append(href)
    return missing


def check_pages(chromium: str, html: Path, entries: list[str], screenshots: Path) -> dict[str, dict]:
    """Open every ``<entry>.html`` of the site in ``html``; per page, the problems found (empty when clean)."""
    from playwright.sync_api import sync_playwright

    screenshots.mkdir(parents=True, exist_ok=True)
    report = {}
    with serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failed_files, js_errors = [], []
        # offline: anything not served from localhost (CDN scripts, fonts) is refused at once instead of timing out
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                   else route.abort())
        page.on("response", lambda r: failed_files.append(f"{r.status} {r.url}")
                if r.url.startswith(base) and r.status >= 400 else None)
        page.on("pageerror", lambda err: js_errors.append(str(err)))
        for entry in entries:
            failed_files.clear()
            js_errors.clear()
            page.goto(f"{base}/{entry}.html", wait_until="load")
            found = page.evaluate(PAGE_PROBLEMS_JS)
            page.screenshot(path=str(screenshots / f"{entry.replace('/', '__')}.png"))
            problems = {
                "error outputs": found["errors"],
                "docutils problems": found["problems"],
                "broken images": found["broken_images"],
                "missing or empty glue values": [v for v in found["pasted"] if v in EMPTY_VALUES],
                "unrendered glue roles": found["unrendered_roles"],
                "traceback text": ["Traceback (most recent call last)"] if found["tracebacks"] else [],
                "local files that failed to load": list(failed_files),
                "javascript errors": [e for e in js_errors if e not in KNOWN_JS_ERRORS],
                "internal links to nowhere": _internal_targets(html / f"{entry}.html", found["links"], html),
                "numpy reprs in the text": found["numpy_reprs"],
                "code past the page column": found["code_past_column"],
                "tables past the page column": found["tables_past_column"],
            }
            report[entry] = {kind: items for kind, items in problems.items() if items}
        browser.close()
    return report


@pytest.mark.slow
def test_every_page_renders_cleanly_in_chromium(built_book, chromium_path):
    _, html = built_book
    entries = book.toc_entries()
    report = check_pages(chromium_path, Path(html), entries, SCREENSHOTS)
    bad = {entry: problems for entry, problems in report.items() if problems}
    assert not bad, f"pages with problems: {bad}"
    shots = [SCREENSHOTS / f"{e.replace('/', '__')}.png" for e in entries]
    assert all(s.exists() and s.stat().st_size > 5000 for s in shots), "a page's screenshot is missing or blank"


def test_the_check_sees_what_a_reader_would(tmp_path, chromium_path):
    """A page with an error output, a broken image, an empty glue value and a dead link is reported."""
    html = tmp_path / "html"
    html.mkdir()
    (html / "good.html").write_text("<html><body><main><p>All fine: <span class='pasted-text'>42</span></p>"
                                    "<a href='bad.html'>next</a></main></body></html>")
    (html / "bad.html").write_text(
        "<html><body><main><div class='cell_output'><div class='output traceback'>ZeroDivisionError</div></div>"
        "<img src='missing.png'><p>value: <span class='pasted-text'>nan</span> and {glue:text}`lost`</p>"
        "<a href='nowhere.html'>dead</a><script>undefined_function()</script></main></body></html>")
    report = check_pages(chromium_path, html, ["good", "bad"], tmp_path / "shots")
    assert report["good"] == {}
    assert set(report["bad"]) == {"error outputs", "broken images", "missing or empty glue values",
                                  "unrendered glue roles", "local files that failed to load", "javascript errors",
                                  "internal links to nowhere"}
    assert (tmp_path / "shots" / "bad.png").exists()


# A page column 400 px wide, like the book's article beside its side bars.
COLUMN = "<html><body><main><article style='width: 400px'>{}</article></main></body></html>"
WIDE_TABLE = "<table><tr>" + "<td>a_long_column_name</td>" * 12 + "</tr></table>"
CODE = "<div class='cell_input'><div class='highlight'><pre style='overflow: auto'>{}</pre></div></div>"


def test_the_check_sees_what_reads_badly(tmp_path, chromium_path):
    """Each reading check fails on a page made to break it, and passes on its corrected twin: a numpy repr in the
    prose or an output, a code line running past the page column, and a wide table that neither fits the column
    nor scrolls inside a box of its own."""
    html = tmp_path / "html"
    html.mkdir()
    pages = {
        "numpy_bad": "<p>These runs took <span class='pasted-text'>np.float64(10.9)</span> minutes.</p>"
                     "<div class='cell_output'><pre>[np.int64(3), np.int64(4)]</pre></div>",
        "numpy_good": "<p>These runs took <span class='pasted-text'>10.9</span> minutes.</p>"
                      + CODE.format("x = np.float64(10.9)"),   # code as written may name numpy
        "code_bad": CODE.format("x = " + "1 + " * 60 + "1"),
        "code_good": CODE.format("x = 1 + 1"),
        "table_bad": WIDE_TABLE,
        "table_good": "<div style='overflow-x: auto'>" + WIDE_TABLE + "</div><table><tr><td>narrow</td></tr></table>",
    }
    for name, body in pages.items():
        (html / f"{name}.html").write_text(COLUMN.format(body))
    report = check_pages(chromium_path, html, list(pages), tmp_path / "shots")
    assert report["numpy_bad"].keys() == {"numpy reprs in the text"}
    assert report["numpy_bad"]["numpy reprs in the text"] == ["These runs took np.float64(10.9) minutes.",
                                                              "[np.int64(3), np.int64(4)]"]
    assert report["code_bad"].keys() == {"code past the page column"}
    assert report["code_bad"]["code past the page column"][0].startswith("245 columns: x = 1 + 1 + 1")
    assert report["table_bad"].keys() == {"tables past the page column"}
    assert report["numpy_good"] == report["code_good"] == report["table_good"] == {}


def test_missing_chromium_skips_or_fails_under_ci(monkeypatch):
    """Without Chromium the browser check is skipped on a reader's machine and fails under CI=true."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert find_chromium() is None
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        chromium_or_skip()
