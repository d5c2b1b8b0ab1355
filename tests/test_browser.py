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

from book import build, chapter
from lib import paths

SCREENSHOTS = paths.BUILD / "screenshots"
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


# What makes a page read like a lab notebook rather than a book (issue 26). Each kind is counted over the whole
# page, outside the code as written (cell inputs, and inline code in prose); each count must be 0. The page's
# code ids and the machine's own folders are passed in, so the check knows what a reader should not see.
READER_KINDS_JS = """([codeIds, machinePaths]) => {
  const root = document.querySelector('main') || document.body;
  const all = sel => Array.from(root.querySelectorAll(sel));
  const shown = el => el.offsetParent !== null || el.getClientRects().length > 0;
  const asWritten = el => !!(el.closest('div.cell_input') ||
      ((el.closest('code, pre') || el.closest('.highlight')) && !el.closest('div.cell_output')));
  const clip = s => s.replace(/\\s+/g, ' ').trim().slice(0, 90);
  const found = {nan: [], wide: [], index: [], ids: [], uncaptioned: [], decimals: [], paths: [], logs: [],
                 myst: []};
  // text as the reader meets it, with where it sits
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const ids = new RegExp('(^|[^A-Za-z0-9_/.-])(' + codeIds.map(i => i.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&'))
      .join('|') + ')(?![A-Za-z0-9_/.-])');   // a file name or address may hold an id
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement, t = node.textContent;
    if (!el || asWritten(el) || el.closest('script, style, nav, .bd-sidebar, .headerlink')) continue;
    const where = clip((el.closest('p, li, td, th, pre, dd, dt, figcaption, h1, h2, h3, h4') || el).innerText || t);
    if (/(^|[^A-Za-z])(NaN|nan|None|<NA>|NaT)(?![A-Za-z])/.test(t)) found.nan.push(where);
    if (/(^|[^\\w:.\\/])\\d+\\.\\d{5,}/.test(t)) found.decimals.push(where);   // not arXiv ids or DOIs
    if (machinePaths.some(p => t.includes(p)) || /(^|[\\s'"(=:])\\/(tmp|home|root|work|Users|var\\/folders)\\//.test(t))
      found.paths.push(where);
    if (/\\{(glue|cite|doc|ref|numref|download|eq)(:[a-z]+)?\\}/.test(t) || /^\\s*(```|:::)/m.test(t))
      found.myst.push(where);
    if (el.closest('table') && codeIds.length && ids.test(t)) found.ids.push(where);
  }
  // tables and code blocks wider than the page column: scrolling inside a box does not make them fit
  // where an element stops being seen: the inner right edge of the nearest box that clips or scrolls it (a table
  // wider than its output box is cut there, scrollbar or not), else the article's edge
  const column = el => {
    for (let box = el.parentElement; box && box.tagName !== 'ARTICLE'; box = box.parentElement)
      if (getComputedStyle(box).overflowX !== 'visible')
        return box.getBoundingClientRect().left + box.clientLeft + box.clientWidth;
    return (el.closest('article') || root).getBoundingClientRect().right;
  };
  for (const t of all('table')) {
    if (!shown(t)) continue;
    if (t.getBoundingClientRect().right > column(t) + 1 || t.scrollWidth > t.getBoundingClientRect().width + 1)
      found.wide.push(clip((t.querySelector('tr') || t).innerText));
  }
  for (const pre of all('pre')) {
    if (!shown(pre) || pre.closest('div.cell_input')) continue;
    if (pre.scrollWidth > pre.clientWidth + 1 || pre.getBoundingClientRect().right > column(pre) + 1)
      found.wide.push('code block: ' + clip(pre.innerText.split('\\n')[0]));
  }
  // pandas' index column: a row header holding a bare row number
  for (const t of all('table')) {
    const numbered = Array.from(t.querySelectorAll('tbody tr > th:first-child')).filter(th => /^\\d+$/.test(th.innerText.trim()));
    if (numbered.length) found.index.push(clip((t.querySelector('tr') || t).innerText));
  }
  // every picture is a numbered figure with a caption
  for (const img of all('article img')) {   // the page's own pictures, not the launch buttons' logos
    if (img.closest('.dropdown, .btn, button, header')) continue;
    const fig = img.closest('figure');
    if (!fig || !fig.querySelector('figcaption .caption-number') || !fig.querySelector('figcaption').innerText.trim())
      found.uncaptioned.push(img.getAttribute('alt') || img.getAttribute('src').split('/').pop());
  }
  // a log: a stream output of more than three lines
  for (const out of all('div.cell_output .output.stream, div.cell_output .output.stderr')) {
    const lines = out.innerText.trim().split('\\n').length;
    if (lines > 3) found.logs.push(lines + ' lines: ' + clip(out.innerText.split('\\n')[0]));
  }
  return found;
}"""
READER_KINDS = {"nan": "NaN / nan / None in the text", "wide": "tables or code blocks wider than the column",
                "index": "pandas index columns", "ids": "code ids in tables", "uncaptioned": "figures without a number or caption",
                "decimals": "numbers with 5+ decimals", "paths": "build-machine paths", "logs": "logs of more than three lines",
                "myst": "raw MyST"}


def reader_context() -> list:
    """What the reader checks need to know: the code ids of the backbones and datasets, and this machine's folders."""
    from lib import data, models

    # "digits" is also an English word; its tables go through book.present like every other
    ids = list(models.names()) + [n for n in data.names() if n != data.spec(n).display and n != "digits"]
    return [ids, [str(paths.ROOT), str(Path.home()) + "/"]]

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


def check_pages(chromium: str, html: Path, entries: list[str], screenshots: Path,
                context: list | None = None) -> dict[str, dict]:
    """Open every ``<entry>.html`` of the site in ``html``; per page, the problems found (empty when clean).

    ``context`` is :func:`reader_context` (what the reader checks look for); by default the book's own."""
    context = reader_context() if context is None else context
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
            reader = page.evaluate(READER_KINDS_JS, context)
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
                **{READER_KINDS[kind]: items for kind, items in reader.items()},
            }
            report[entry] = {kind: items for kind, items in problems.items() if items}
        browser.close()
    return report


@pytest.mark.slow
@pytest.mark.parametrize("build", ["built_workshop_book", "built_book"], ids=["workshop", "ci"])
def test_every_page_renders_cleanly_in_chromium(build, request, chromium_path):
    """Every page of both builds: the workshop book that ``make book`` makes, and the ``ci`` one."""
    _, html = request.getfixturevalue(build)
    entries = chapter.toc_entries()
    shots_dir = SCREENSHOTS / request.node.callspec.id
    report = check_pages(chromium_path, Path(html), entries, shots_dir)
    bad = {entry: problems for entry, problems in report.items() if problems}
    assert not bad, f"pages with problems: {bad}"
    shots = [shots_dir / f"{e.replace('/', '__')}.png" for e in entries]
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
                                  "internal links to nowhere", "NaN / nan / None in the text",
                                  "raw MyST"}
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
        "table_good": "<table><tr><td>narrow</td></tr></table>",
    }
    for name, body in pages.items():
        (html / f"{name}.html").write_text(COLUMN.format(body))
    report = check_pages(chromium_path, html, list(pages), tmp_path / "shots")
    assert report["numpy_bad"].keys() == {"numpy reprs in the text"}
    assert report["numpy_bad"]["numpy reprs in the text"] == ["These runs took np.float64(10.9) minutes.",
                                                              "[np.int64(3), np.int64(4)]"]
    assert report["code_bad"].keys() == {"code past the page column"}
    assert report["code_bad"]["code past the page column"][0].startswith("245 columns: x = 1 + 1 + 1")
    assert report["table_bad"].keys() == {"tables past the page column", "tables or code blocks wider than the column"}
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


FIGURE = ("<figure><img src='data:image/png;base64,{png}' alt='curves'><figcaption>{caption}</figcaption></figure>")
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
# Each reader check: a page made to break it, and its corrected twin. The kinds are those of issue 26's count.
READER_TWINS = {
    "NaN / nan / None in the text": ("<table><tr><td>ResNet-50</td><td>NaN</td></tr></table><p>paper: None</p>",
                                     "<table><tr><td>ResNet-50</td><td>–</td></tr></table><p>not in the paper</p>"),
    "tables or code blocks wider than the column": (
        "<div style='overflow-x: auto'>" + WIDE_TABLE + "</div><pre style='overflow: auto'>" + "word " * 90 + "</pre>",
        "<table><tr><td>narrow</td></tr></table><pre>make book</pre>"),
    "pandas index columns": ("<table><thead><tr><th></th><th>backbone</th></tr></thead><tbody><tr><th>0</th>"
                             "<td>ResNet-50</td></tr><tr><th>1</th><td>DTD</td></tr></tbody></table>",
                             "<table><thead><tr><th>backbone</th></tr></thead><tbody><tr><td>ResNet-50</td></tr>"
                             "</tbody></table>"),
    "code ids in tables": ("<table><tr><td>convnext_tiny</td><td>cifar10</td></tr></table>",
                           "<table><tr><td>ConvNeXt-Tiny</td><td>CIFAR-10</td></tr></table><p>`convnext_tiny`</p>"),
    "figures without a number or caption": (
        "<img src='data:image/png;base64," + PNG_1PX + "' alt='curves'>",
        FIGURE.format(png=PNG_1PX, caption="<span class='caption-number'>Fig. 1 </span>Accuracy per epoch.")),
    "numbers with 5+ decimals": ("<p>The best run reached 99.164345 %.</p>", "<p>The best run reached 99.2 %.</p>"),
    "build-machine paths": ("<p>Unpack into /tmp/pytest-of-root/data/dtd/ first.</p>",
                            "<p>Unpack into data/dtd/ first.</p>"),
    "logs of more than three lines": (
        "<div class='cell_output'><div class='output stream highlight-myst-ansi'><pre>" +
        "\n".join(f"re-used finished run {i}" for i in range(5)) + "</pre></div></div>",
        "<div class='cell_output'><div class='output stream highlight-myst-ansi'><pre>33 runs re-used, 0 trained"
        "</pre></div></div>"),
    "raw MyST": ("<p>manifest digest {glue:text}digits_manifest``</p>", "<p>manifest digest 4f2a9c01b7e3</p>"),
}


def test_each_reader_check_fails_on_a_broken_page_and_passes_its_twin(tmp_path, chromium_path):
    """Issue 26's nine kinds: each is found on a page made to break it, and not on its fixed twin."""
    html = tmp_path / "html"
    html.mkdir()
    pages = {}
    for i, (kind, (bad, good)) in enumerate(READER_TWINS.items()):
        pages[f"bad{i}"], pages[f"good{i}"] = bad, good
    for name, body in pages.items():
        (html / f"{name}.html").write_text(COLUMN.format(body))
    context = [["convnext_tiny", "resnet50", "cifar10", "dtd"], ["/work/main/", "/root/"]]
    report = check_pages(chromium_path, html, list(pages), tmp_path / "shots", context=context)
    for i, kind in enumerate(READER_TWINS):
        assert kind in report[f"bad{i}"], (kind, report[f"bad{i}"])
        assert report[f"good{i}"] == {}, (kind, report[f"good{i}"])


def test_a_table_cut_by_its_own_scrolling_box_is_wide_even_inside_the_column(tmp_path, chromium_path):
    """A table a little wider than the output box that scrolls it is cut there (chapter 6's claims counts read
    "tota"), though it ends inside the article's padding; the same table in a box wide enough is not."""
    html = tmp_path / "html"
    html.mkdir()
    table = "<table style='width: 320px'><tr><td>version: section</td><td>total</td></tr></table>"
    for name, box in (("cut", 300), ("fits", 340)):
        body = f"<div style='overflow-x: auto; width: {box}px'>{table}</div>"
        (html / f"{name}.html").write_text(COLUMN.format(body))
    report = check_pages(chromium_path, html, ["cut", "fits"], tmp_path / "shots", context=[[], []])
    assert "tables or code blocks wider than the column" in report["cut"], report["cut"]
    assert report["fits"] == {}, report["fits"]


if __name__ == "__main__":   # .venv/bin/python tests/test_browser.py _build/html [page ...]: the report, page by page
    import sys

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else paths.BUILD / "html"
    chosen = sys.argv[2:] or chapter.toc_entries()
    found = check_pages(find_chromium(), folder, chosen, folder.parent / "screenshots")
    for entry, problems in found.items():
        print(f"== {entry}: {sum(len(v) for v in problems.values())} problems")
        for kind, items in problems.items():
            print(f"   {kind} ({len(items)}): " + " | ".join(map(str, items[:6])))
