"""Math rendered to MathML at build time: `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`.

Dollar math is mdit-py-plugins' dollarmath with allow_space=False and
allow_digits=False, as Obsidian reads it: the opening `$` is not followed by a
space, the closing `$` is not preceded by one nor followed by a digit, so
"$5 and $10" stays text. Brackets are rules of this module. Every math token
is rendered with latex2mathml; a bad expression renders as its source with
class="math-error" and a `path:line` warning.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.dollarmath.index import math_block_dollar, math_inline_dollar

from kb.markdown.env import RenderEnv
from kb.markdown.lines import with_line
from kb.plaintext import bracket_is_math  # snippets read \[…\] as the page does
from kb.sanitize import clean_html

_ARG = re.compile(r"\\arg(?![A-Za-z])")
_UNKNOWN = re.compile(r"<mi>(\\[A-Za-z]+)</mi>")
_MTEXT = re.compile(r"(<mtext\b[^>]*>)(.*?)(</mtext>)", re.S)
_BARE_AMP = re.compile(r"&(?!#?[A-Za-z0-9]+;)")
_TEXT_ESCAPE = re.compile(r"\\([%$&_#{}])")
# amsmath's alignment environments: latex2mathml knows align* (a right/left table marked displaystyle="true",
# its relations after an empty <mi/> as in TeX's `{}=`) but not aligned, alignat or gathered (it shows their
# `&` and runs the rows together; Chrome ignores its <mspace linebreak>). Written as align*, gather as an array.
_ALIGN_ENV = re.compile(r"\\begin\{(aligned|align\*?|split|alignat\*?|alignedat|gathered|gather\*?)\}(\{\d+\})?(.*?)\\end\{\1\}", re.S)
_EQUATION_ENV = re.compile(r"\\begin\{(equation\*?)\}(.*?)\\end\{\1\}", re.S)
_ROW_END = re.compile(r"\\\\(?:\[[^\]]*\])?")  # \\ or \\[4pt]
# TeX's spacing where latex2mathml's markup gets another one in Chromium (MathML Core's operator dictionary).
# Ordinary symbols it writes as <mo>: an operator missing from the dictionary gets 0.28em on both sides
# ("− ∞ ,"), and `/`, `|`, `\\|` get operator space though TeX sets them tight ("p/(1−p)", "Y|x").
_ORD_MO = re.compile(r"<mo>(&#x0221E;|&#x02205;|&#x02202;|&#x02207;)</mo>")  # ∞ ∅ ∂ ∇
_TIGHT_MO = re.compile(r'<mo((?: stretchy="false"| fence="false")*)>(&#x0002F;|&#x0007C;|&#x02016;)</mo>')  # / | ‖
# Binary/relation symbols it writes as <mi>, which get no space at all: \sim as "~" ("x~Bern"), \pm.
_AS_MO = {"<mi>&#x0007E;</mi>": "<mo>&#x0223C;</mo>", "<mi>&#x000B1;</mi>": "<mo>&#x000B1;</mo>"}
# A sign is unary in TeX after nothing, an operator, a relation, punctuation or an opening bracket; Chromium
# infers form="prefix" (no space) only for the first child of a row, so "(−x", "= −b", "{−1, +1}" were spaced.
_SIGN = re.compile(r"(<(?:math|mrow|mtd|msqrt|mstyle)\b[^>]*(?<!/)>|<mo\b([^>]*)>([^<]*)</mo>)<mo>(&#x02212;|&#x0002B;|&#x000B1;|&#x02213;)</mo>")
# Chromium (MathML Core) has no <menclose>: it lays the content out as a row and drops the box or strike.
_MENCLOSE = re.compile(r'<menclose(?: notation="([^"]*)")?>')
_CLOSING = set(")]}|!\u2016\u27e9\u2309\u230b\u2032\u22ef\u2026")  # and ‖ ⟩ ⌉ ⌋ ′ ⋯ …: the sign after them is binary


@lru_cache(maxsize=4096)
def to_mathml(tex: str, display: bool) -> tuple[str, str]:
    """-> (MathML, "") or ("", error message). Cached: notes repeat formulas."""
    try:
        # latex2mathml lacks \arg (it knows \max, \log...): write it as the operator it is
        out = convert(amsmath_as_array(_ARG.sub(r"\\operatorname{arg}", tex)), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many types on bad input
        return "", _describe(exc, tex)
    unknown = _UNKNOWN.search(out)
    if unknown:
        return "", f"unknown command {unknown.group(1)}"
    return clean_html(tex_spacing(styled_enclosures(_MTEXT.sub(_escape_text, out)))), ""


def inline_mathml(tex: str) -> str | None:
    """Inline MathML of `tex`, or None when it does not convert (the caller shows the source)."""
    out, error = to_mathml(tex.strip(), False)
    return None if error else out


def styled_enclosures(mathml: str) -> str:
    """`<menclose notation="box">` (\\boxed, \\fbox; \\cancel and kin are diagonal strikes) -> `<mrow
    class="menclose-box">`, which style.css draws with a border or a gradient line: Chromium would show
    the content without its box. Every <menclose> becomes an <mrow>, so nested ones still close right."""
    mathml = _MENCLOSE.sub(lambda m: f'<mrow class="{_enclosure_classes(m.group(1))}">', mathml)
    return mathml.replace("</menclose>", "</mrow>")


_MROW_TAG = re.compile(r"<mrow\b([^>]*)>|</mrow>")
_CLASS_ATTR = re.compile(r'\bclass="([^"]*)"')


def standard_enclosures(html: str) -> str:
    """The inverse of styled_enclosures, for feeds: a feed reader has no style.css, so `<mrow
    class="menclose-box">` would lose its box there, while readers that draw MathML know <menclose>.
    A stack pairs each </mrow> with its opening tag, so only the enclosures' own ends change."""
    if "menclose-" not in html:
        return html
    stack: list[bool] = []

    def swap(m: re.Match[str]) -> str:
        if m.group(0) == "</mrow>":
            return "</menclose>" if stack and stack.pop() else m.group(0)
        if m.group(1).rstrip().endswith("/"):  # <mrow/>: nothing to close
            return m.group(0)
        cls = _CLASS_ATTR.search(m.group(1))
        # only kb's own <mrow class="menclose-…"> (no other attribute) stands for an enclosure
        words = cls.group(1).split() if cls and m.group(1).strip() == cls.group(0) else []
        enclosure = bool(words) and all(w.startswith("menclose-") for w in words)
        stack.append(enclosure)
        return f'<menclose notation="{" ".join(w[9:] for w in words)}">' if enclosure else m.group(0)

    return _MROW_TAG.sub(swap, html)


def _enclosure_classes(notation: str | None) -> str:
    """"updiagonalstrike downdiagonalstrike" (\\xcancel) -> one class a line, drawn on top of each other."""
    return " ".join(f"menclose-{word}" for word in (notation or "").split() if word.isalpha())


def tex_spacing(mathml: str) -> str:
    """latex2mathml's MathML (entities as it writes them) -> the same with TeX's spacing in Chromium."""
    mathml = _ORD_MO.sub(r'<mi mathvariant="normal">\1</mi>', mathml)
    mathml = _TIGHT_MO.sub(r'<mo\1 lspace="0" rspace="0">\2</mo>', mathml)
    for mi, mo in _AS_MO.items():
        mathml = mathml.replace(mi, mo)
    for _ in range(3):  # "--x", "(-+x)": a sign made prefix may be what makes the next one unary
        signed = _SIGN.sub(_prefix_sign, mathml)
        if signed == mathml:
            break
        mathml = signed
    return mathml


def _prefix_sign(m: re.Match[str]) -> str:
    attrs, before = m.group(2), m.group(3)
    opening = attrs is not None and 'form="prefix"' in attrs  # \\left| opens, its bar is no closing one
    if before is not None and not opening and (not before or html.unescape(before) in _CLOSING):
        return m.group(0)  # after a closing bracket or an ordinary symbol: binary, as it was
    return f'{m.group(1)}<mo form="prefix">{m.group(4)}</mo>'


def amsmath_as_array(tex: str) -> str:
    """`\\begin{aligned} a &= b \\\\ … \\end{aligned}` (and align, split, alignat)
    -> `\\begin{align*} …`: columns right, left, right, … as amsmath aligns them (style.css keys its
    spacing on the table's displaystyle="true"); gather(ed) -> `\\begin{array}{c}`, centred.
    `equation` keeps only its body."""
    tex = _EQUATION_ENV.sub(lambda m: m.group(2), tex)
    return _ALIGN_ENV.sub(_as_array, tex)


def _as_array(m: re.Match[str]) -> str:
    body = _ROW_END.sub(lambda _: "\\\\", m.group(3))
    if m.group(1).startswith("gather"):
        return "\\begin{array}{c}" + body + "\\end{array}"
    return "\\begin{align*}" + body + "\\end{align*}"


def _escape_text(m: re.Match[str]) -> str:
    """latex2mathml copies `\\text{…}` into <mtext> as is, so `\\text{<svg onload=…>}` would be
    markup. Escape it to show the characters, as MathJax does; the whole result is then cleaned
    as well, in case some other construct copies text through."""
    text = _TEXT_ESCAPE.sub(r"\1", m.group(2))  # \text{100\% of \$5} reads "100% of $5", as in MathJax
    inner = _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return m.group(1) + inner + m.group(3)


# latex2mathml's exceptions name what its parser ran into, not what is wrong in the TeX
# ("no available tokens" for `\frac{1}{`): say the latter for the ones a typo commonly causes
_PLAIN_ERRORS = {
    "NoAvailableTokensError": "a command missing its argument",  # after _unbalanced found nothing
    "MissingSuperScriptOrSubscriptError": "^ or _ with nothing after it",
    "DoubleSubscriptsError": "two subscripts in a row (group one in braces: {a_1}_2 or a_{1_2})",
    "DoubleSuperscriptsError": "two superscripts in a row (group one in braces: {a^1}^2 or a^{1^2})",
    "ExtraLeftOrMissingRightError": "\\left without its \\right, or \\right without its \\left",
    "MissingEndError": "\\begin{…} without its \\end{…}",
    "NumeratorNotFoundError": "\\over or \\choose with nothing before it",
    "DenominatorNotFoundError": "\\over or \\choose with nothing after it",
    "InvalidStyleForGenfracError": "\\genfrac's style must be 0, 1, 2 or 3",
}


def _describe(exc: Exception, tex: str = "") -> str:
    """A latex2mathml exception -> what is wrong in the TeX, for the common ones; otherwise its own
    words: NoAvailableTokensError('') -> 'no available tokens' (its messages are often empty)."""
    name = type(exc).__name__
    if name in _PLAIN_ERRORS and type(exc).__module__.startswith("latex2mathml"):
        # "ran out of tokens" has several causes: name the one the TeX shows, if it shows one
        return (name == "NoAvailableTokensError" and _unbalanced(tex)) or _PLAIN_ERRORS[name]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Error")).lower()
    detail = str(exc).strip()
    return f"{words}: {detail}" if detail else words


def _unbalanced(tex: str) -> str:
    """What is left open in `tex` ("" if nothing): a \\begin without its \\end, or a brace."""
    if tex.count("\\begin{") > tex.count("\\end{"):
        return _PLAIN_ERRORS["MissingEndError"]
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex):  # \{ and \} are characters, not groups
        depth += {"{": 1, "}": -1}.get(m.group(0), 0)
        if depth < 0:
            return "a } without its {"
    return "a { without its }" if depth else ""


def _bracket_inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith(("\\(", "\\["), pos):
        return False
    display = src[pos + 1] == "["
    end = src.find("\\]" if display else "\\)", pos + 2)
    if end == -1 or not src[pos + 2 : end].strip():
        return False
    if display and not bracket_is_math(src[pos + 2 : end], src[max(0, pos - 2) : pos]):
        return False
    if not silent:
        tok = state.push("math_inline_double" if display else "math_inline", "math", 0)
        tok.content = src[pos + 2 : end]
        tok.markup = src[pos : pos + 2]
    state.pos = end + 2
    return True


def _bracket_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    if not state.src.startswith("\\[", begin):
        return False
    parts: list[str] = []
    line, text = start_line, state.src[begin + 2 : state.eMarks[start_line]]
    while True:
        at = text.find("\\]")
        if at != -1:
            if text[at + 2 :].strip():
                return False  # `\[x\] more text`: inline display math in a paragraph
            parts.append(text[:at])
            break
        parts.append(text)
        line += 1
        if line >= end_line or state.isEmpty(line):
            return False
        text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
    if silent:
        return True
    state.line = line + 1
    tok = state.push("math_block", "math", 0)
    tok.block, tok.content, tok.markup = True, "\n".join(parts), "\\["
    tok.map = [start_line, state.line]
    return True


def _render(tokens: Sequence[Token], idx: int, env: dict[str, Any], display: bool) -> str:
    tok = tokens[idx]
    tex = tok.content.strip()
    out, error = to_mathml(tex, display)
    kb: RenderEnv | None = env.get("kb")
    if not error:
        if kb is not None:
            kb.formulas[out] = tex
        return out
    if kb is not None:
        rel = tok.map[0] if tok.map else int((tok.meta or {}).get("line", 0))
        kb.warn(rel, "math", f"bad math {tok.markup}{tex}{_closing(tok.markup)}: {error}")
    cls = "math-error" + (" math-display" if display else "")
    return f'<code class="{cls}" title="{html.escape(error, quote=True)}">{html.escape(tok.markup + tex + _closing(tok.markup))}</code>'


def _closing(markup: str) -> str:
    return {"\\(": "\\)", "\\[": "\\]"}.get(markup, markup)


def render_inline(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    return _render(tokens, idx, env, display=tokens[idx].type == "math_inline_double")


def render_block(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    return _render(tokens, idx, env, display=True) + "\n"


def _silent_ok(rule: Any) -> Any:
    """mdit-py-plugins' math_block_dollar ignores `silent`: asked by the paragraph rule whether a
    `$$` line may end the paragraph, it pushed its tokens anyway, so the formula came out once more
    per asking rule. Run it and roll back what it did when only asked."""

    def rule_(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if not silent:
            return bool(rule(state, start_line, end_line, False))
        n, line = len(state.tokens), state.line
        ok = bool(rule(state, start_line, end_line, False))
        del state.tokens[n:]
        state.line = line
        return ok

    return rule_


def math_plugin(md: MarkdownIt) -> None:
    alt = {"alt": ["paragraph", "reference", "blockquote", "list"]}
    md.inline.ruler.before("escape", "math_inline", with_line(math_inline_dollar(False, False, True), "$"))
    md.inline.ruler.before("escape", "math_bracket", with_line(_bracket_inline, "\\"))
    md.block.ruler.before("fence", "math_block", _silent_ok(math_block_dollar(False, None, False)), alt)
    md.block.ruler.before("fence", "math_bracket_block", _bracket_block, alt)
    md.add_render_rule("math_inline", render_inline)
    md.add_render_rule("math_inline_double", render_inline)
    md.add_render_rule("math_block", render_block)
