"""Keep LaTeX byte-for-byte through HTML -> markdown conversion.

Math spans ($…$, $$…$$, \\(…\\), \\[…\\]) are swapped for inert placeholders
before sanitizing and converting, and put back afterwards, so markdownify never
escapes the `_`, `*` and `\\` inside them. Spans are looked for only in text:
tags, comments and <pre>/<code>/<script>/<style> content are skipped (a URL
such as `scatter_\\(vector\\)` in an href is not math).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_SKIP = r"<!--.*?-->|<(?P<blk>pre|code|script|style|textarea)\b.*?</(?P=blk)\s*>|<[^>]*>"
_NOTAG = r"(?:[^<]|<(?![A-Za-z/!?]))"  # a bare '<' (as in $q < p$) is text, '<b' is a tag
_DISPLAY = rf"\$\$(?!\$){_NOTAG}+?\$\$|\\\[{_NOTAG}+?\\\]"
# Inline $…$ (pandoc's rule): no space after the opening $, none before the
# closing one, no digit right after it ("$10 and $20" is not math); no blank line.
_INLINE = (
    r"(?<![\\$])\$(?=[^\s$])(?:[^$<\\\n]|<(?![A-Za-z/!?])|\\.|\n(?![ \t]*\n))+?(?<=[^\s\\])\$(?![\d$])"
    rf"|\\\({_NOTAG}+?\\\)"
)
_SCAN = re.compile(f"(?P<skip>{_SKIP})|(?P<display>{_DISPLAY})|(?P<inline>{_INLINE})", re.S | re.I)
# Raw HTML tags inside a "math" span would become live markup if the math
# renderer is absent; such spans are left to the converter, which escapes them.
_PREFIX = re.compile(r"[ \t>]+")
_TAGLIKE = re.compile(r"<[A-Za-z][\w-]*(\s[^<>]*)?/?>|</[A-Za-z][\w-]*\s*>|<[!?]")


@dataclass
class MathGuard:
    """Placeholders -> original LaTeX (decoded from HTML once)."""

    token: str = "KBMATHZQ"
    spans: dict[str, str] = field(default_factory=dict)
    display: set[str] = field(default_factory=set)

    def protect(self, fragment: str) -> str:
        while self.token in fragment:  # never confuse real text with a placeholder
            self.token += "Q"
        return _SCAN.sub(self._swap, fragment)

    def _swap(self, m: re.Match[str]) -> str:
        if m.group("skip"):
            return m.group(0)
        latex = html.unescape(m.group(0))
        if _TAGLIKE.search(latex):
            return m.group(0)
        key = f"{self.token}X{len(self.spans)}X"
        self.spans[key] = latex
        if m.group("display"):
            self.display.add(key)
            # its own block, so markdownify indents it correctly inside lists and quotes
            return f"<div>{key}</div>"
        return key

    def restore(self, markdown: str) -> str:
        if not self.spans:
            return markdown
        return re.sub(rf"{self.token}X\d+X", self._unswap, markdown)

    def _unswap(self, m: re.Match[str]) -> str:
        latex = self.spans.get(m.group(0), m.group(0))
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        prefix = m.string[line_start : m.start()]
        if prefix and _PREFIX.fullmatch(prefix):
            # continuation lines of a multi-line span keep the list/quote indentation
            latex = latex.replace("\n", "\n" + prefix)
        return latex


def latex_spans(fragment: str) -> list[str]:
    """Every math span in an HTML fragment, decoded; what tests compare against."""
    guard = MathGuard()
    guard.protect(fragment)
    return list(guard.spans.values())


def unrender_math(fragment: str) -> str:
    """Math a blog already rendered (KaTeX/MathML with a TeX annotation, MathJax 2 scripts)
    -> `$tex$` / `$$tex$$` text, so it is protected like hand-written LaTeX instead of
    being flattened into a jumble of glyphs by the converter."""
    if "x-tex" not in fragment and "math/tex" not in fragment:
        return fragment
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for ann in soup.find_all("annotation", attrs={"encoding": "application/x-tex"}):
        math = ann.find_parent("math")
        outer = ann.find_parent(class_="katex-display") or ann.find_parent(class_="katex") or math
        if outer is None or outer.parent is None:
            continue
        block = outer.get("class") and "katex-display" in outer.get("class") or (math and math.get("display") == "block")
        tex = ann.get_text().strip()
        outer.replace_with(f"$${tex}$$" if block else f"${tex}$")
    for script in soup.find_all("script", attrs={"type": re.compile(r"^math/tex")}):
        tex = script.get_text().strip()
        prev = script.find_previous_sibling(class_=re.compile(r"^MathJax"))
        if prev is not None:
            prev.decompose()  # the rendered copy next to the source
        script.replace_with(f"$${tex}$$" if "mode=display" in script.get("type", "") else f"${tex}$")
    return str(soup)
