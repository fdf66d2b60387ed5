"""Obsidian syntax as Chromium shows it: MathML has a box, aligned rows line up, \\boxed has its frame,
folded callouts hide their content, a [[note#^block]] link lands on the block (its caret is percent-encoded in the URL)."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.browser


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def served(make_site):
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed")
    r = make_site(
        {
            "a.md": "Inline $e^{i\\pi}+1=0$ and\n\n$$\n\\int_0^1 x\\,dx\n$$\n\n> [!tip]- Folded\n> secret body\n\n> [!note]+ Open\n> open body\n\n==marked==\n",
            "b.md": "Para\n\nTarget paragraph ^blk\n\n" + "\n".join(f"filler {i}\n" for i in range(80)),
            "c.md": "Go to [[b#^blk]]\n\nText and ![[ghost.png]] inside a sentence.\n",
            "d.md": (
                "$$\n\\begin{aligned}\nP(Y=y) &= p^y (1-p)^{1-y} \\\\\na+b &= \\exp(y\\log p) \\\\\n&= c\n\\end{aligned}\n$$\n\n"
                "$$\nf = \\begin{cases} 1 & x > 0 \\\\ -1000 & x \\le 0 \\end{cases}\n$$\n\n"
                "$$\n(-\\infty, x - \\infty)\n$$\n"
            ),
            "e.md": "Inline $\\boxed{E=mc^2}$ and $\\cancel{x}+y$.\n\n$$\\boxed{a^2+b^2=c^2}$$\n",
            "t.md": "| Plugin | Description | Release |\n|---|---|---|\n| Dataview | Treat your vault as a database you can query "
                    "| " + "unbroken" * 10 + " |\n| Templater | Templates with prompts | `" + "v" * 60 + "` |\n",
        }
    )
    handler = functools.partial(_Quiet, directory=str(r.ctx.out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(), f"http://127.0.0.1:{server.server_port}"
        browser.close()
    server.shutdown()


def test_math_callouts_and_block_links_in_chromium(served):
    page, base = served
    page.goto(base + "/a/")
    boxes = page.evaluate("[...document.querySelectorAll('math')].map(m => [m.getAttribute('display'), m.getBoundingClientRect().width])")
    assert [d for d, _ in boxes] == ["inline", "block"] and all(w > 10 for _, w in boxes)
    assert page.evaluate("document.querySelector('details.callout:not([open]) .callout-content').checkVisibility()") is False
    assert page.evaluate("document.querySelector('details.callout[open] .callout-content').checkVisibility()") is True
    page.click("summary.callout-title >> text=Folded")
    assert page.is_visible("text=secret body")
    assert page.evaluate("getComputedStyle(document.querySelector('mark')).backgroundColor") != "rgba(0, 0, 0, 0)"
    page.goto(base + "/c/")
    # a missing attachment inside a sentence is marked text in its line, not a boxed block
    box = page.evaluate("(s => [getComputedStyle(s).borderLeftWidth, getComputedStyle(s).paddingLeft, s.getClientRects().length])(document.querySelector('span.unresolved.embed'))")
    assert box == ["0px", "0px", 1]
    href = page.get_attribute("a.internal", "href")
    assert href == "/b/#%5Eblk"
    page.goto(base + href)
    assert page.evaluate("document.querySelector(':target').textContent") == "Target paragraph"


def test_aligned_rows_line_up_and_signs_are_tight_in_chromium(served):
    """Chromium ignores columnalign: style.css aligns by it. Measured, not string-matched: the `=` of each
    aligned row at one x, the right column's ends at one x, cases entries starting at one x; a unary minus
    sits closer to its ∞ than a binary one does."""
    page, base = served
    page.goto(base + "/d/")
    eqs, ends, cases, gaps = page.evaluate("""() => {
        const [aligned, cases, signs] = document.querySelectorAll('mtable, math[display=block]:not(:has(mtable))');
        const x = e => e.getBoundingClientRect();
        const rows = [...aligned.querySelectorAll(':scope > mtr')];
        const eqs = rows.map(r => x([...r.children[1].querySelectorAll('mo')].find(o => o.textContent === '=')).left);
        const ends = rows.slice(0, 2).map(r => x(r.children[0]).right - x(r.children[0].lastElementChild).right);
        const starts = [...cases.querySelectorAll('mtr > mtd:first-child')].map(d => x(d.firstElementChild).left);
        const mo = [...signs.querySelectorAll('mo')].filter(o => o.textContent === '\u2212');
        const gap = o => x(o.nextElementSibling).left - x(o).right;
        return [eqs, ends, starts, mo.map(gap)];
    }""")
    assert len(eqs) == 3 and max(eqs) - min(eqs) < 1, eqs
    assert abs(ends[0] - ends[1]) < 1, ends  # both right cells end at the cell's right edge
    assert len(cases) == 2 and abs(cases[0] - cases[1]) < 1, cases
    unary, binary = gaps
    assert unary < 1 < binary, gaps


def test_boxed_has_a_border_and_cancel_a_stroke_in_chromium(served):
    """Chromium has no <menclose>: \\boxed and \\cancel showed their content bare. Whatever element wraps
    the content, it must draw a border around the content's box, and the strike must paint something."""
    page, base = served
    page.goto(base + "/e/")
    boxes, strike = page.evaluate("""() => {
        const wrap = m => m.querySelector(':scope > mrow > :first-child');
        const [inline, cancel, block] = [...document.querySelectorAll('math')].map(wrap);
        const edges = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        const box = e => [parseFloat(getComputedStyle(e).borderTopWidth), edges(e), edges(e.firstElementChild)];
        return [[box(inline), box(block)], [cancel.textContent, edges(cancel)]];
    }""")
    for border, (left, top, right, bottom), (c_left, c_top, c_right, c_bottom) in boxes:
        assert border >= 1, boxes
        assert left < c_left and top < c_top and right > c_right and bottom > c_bottom, boxes  # around, not through
    text, (left, top, right, bottom) = strike
    assert text == "x"
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    struck = page.screenshot(clip=clip)
    page.evaluate("document.querySelectorAll('math')[1].querySelector(':scope > mrow > :first-child').style.background = 'none'")
    unchanged = page.screenshot(clip=clip) == struck  # the stroke is what differs: x alone looks otherwise
    assert not unchanged, "\\cancel{x} looks the same without its stroke"


def test_a_long_word_in_a_table_breaks_and_leaves_the_other_columns_their_words(served):
    """On a phone (375 px) an 80-letter word or code span in a cell breaks inside itself: the table fits
    the page, and the other columns keep their words whole ("Plugin", "Description" on one line each)."""
    page, base = served
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(base + "/t/")
    table = page.evaluate("(t => [t.scrollWidth, t.clientWidth])(document.querySelector('main table'))")
    assert table[0] <= table[1]  # no sideways scrolling
    one_line = page.evaluate("""[...document.querySelectorAll('main th')].slice(0, 2).map(th => {
        const r = document.createRange(); r.selectNodeContents(th); return r.getClientRects().length; })""")
    assert one_line == [1, 1]
