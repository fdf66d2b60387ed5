"""A TeX formula as plain text a reader can follow: `\\theta` as θ, `x^2` as x², `\\frac{a}{b}` as a/b.

For the places that can only show text: search result snippets and a page's meta description. Pages
themselves render formulas as MathML (kb.markdown.math). The symbols and commands come from pylatexenc's
latex-to-text converter (a maintained table of several hundred macros, rather than one of our own);
kb adds Unicode super- and subscripts for the short ones (x², aᵢ, ∑ₖ₌₁ⁿ), which pylatexenc writes as
"x^2" and, with braces dropped, "∑_k=1^n" (an ambiguous reading of `\\sum_{k=1}^{n}`).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# every character Unicode has a super- or subscript form of (no superscript q, few capitals, few subscripts)
_SUPER = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW",
                  "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ", strict=True))
_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
# ^x, _x, ^{…} or _{…} with no braces inside; a command argument (\hat{…}) is not a script
_SCRIPT = re.compile(r"(?<!\\)([\^_])(?:\{([^{}]*)\}|([A-Za-z0-9]))")
_COMMAND = re.compile(r"\\[A-Za-z]+")
# TeX lets a command swallow the space after it ("\alpha \leq \beta" reads "α≤β"); an empty group keeps it
# after a command that takes no argument (an argument may follow a space: "\frac 12", "\mathbb R")
_SPACE_AFTER_COMMAND = re.compile(r"\\([A-Za-z]+)(?=\s+[^\s{\[])")
_BRACE = re.compile(r"(?<!\\)[{}]")  # \{ and \} are braces to show, not groups
# the words in \text{…} are text: my_var is not my with a subscript
_TEXT_ARG = re.compile(r"\\(?:text|textrm|textit|textbf|texttt|mathrm|mathit|mathtt|operatorname|mbox)\s*\{([^{}]*)\}")
# what pylatexenc reads wrong: \dfrac{a}{b} as "ab", \binom{n}{k} as "nk"
_SAME_AS_FRAC = re.compile(r"\\[dt]frac(?![A-Za-z])")
_BINOM = re.compile(r"\\binom\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
# \underset{θ}{\text{arg min}} as "arg min" with θ below: a subscript (pylatexenc runs the two together)
_UNDER_OVER = re.compile(r"\\(under|over)set\s*\{([^{}]*)\}\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_SPACES = re.compile(r"\s+")
logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)  # it logs every macro it cannot expand


def tex_as_text(tex: str) -> str:
    """`tex` as Unicode text; a formula pylatexenc cannot read stays as written."""
    return _as_text(tex.strip())


@lru_cache(maxsize=4096)  # notes repeat formulas, and the same text reaches snippets and descriptions
def _as_text(tex: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    braces = _BRACE.findall(tex)
    if braces.count("{") != braces.count("}"):  # pylatexenc would fill in "%s" for a missing argument
        return tex
    source = _TEXT_ARG.sub(_escape_underscores, tex)
    source = _BINOM.sub(r"C(\1, \2)", _SAME_AS_FRAC.sub(r"\\frac", source))
    source = _UNDER_OVER.sub(lambda m: "{" + m.group(3) + "}" + ("_" if m.group(1) == "under" else "^") + "{" + m.group(2) + "}", source)
    source = _SPACE_AFTER_COMMAND.sub(_keep_space, _SCRIPT.sub(_script, source)).replace("\\|", "‖")  # a norm; pylatexenc drops it
    try:
        text = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False).latex_to_text(source)
    except Exception:  # noqa: BLE001 - pylatexenc raises its own and Python's errors on broken TeX
        return tex
    text = _SPACES.sub(" ", text).strip()
    return tex if not text or "%s" in text else text


def _escape_underscores(m: re.Match[str]) -> str:
    """\\text{my_var} with its underscores escaped, so that _SCRIPT leaves them as they are."""
    start = m.start(1) - m.start()
    return m.group(0)[:start] + re.sub(r"(?<!\\)_", r"\\_", m.group(1)) + "}"


def _keep_space(m: re.Match[str]) -> str:
    """A command and an empty group after it, unless pylatexenc's table says it takes arguments."""
    spec = _macros().get_macro_spec(m.group(1))
    takes = spec is not None and getattr(spec.args_parser, "argspec", "")
    return m.group(0) if takes else m.group(0) + "{}"


@lru_cache(maxsize=1)
def _macros():  # noqa: ANN202 - pylatexenc's LatexContextDb
    from pylatexenc.latexwalker import get_default_latex_context_db

    return get_default_latex_context_db()


def _script(m: re.Match[str]) -> str:
    """One super- or subscript as Unicode characters when it has one for every character (after an empty
    group: "\\sumₖ" would read as one unknown command), else a longer one in parentheses: pylatexenc
    drops the braces, and "e^-x" or "∫_-∞^∞" leave its end unclear."""
    body = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    table = _SUPER if m.group(1) == "^" else _SUB
    squeezed = body.replace(" ", "")
    if squeezed and all(c in table for c in squeezed):
        return "{}" + "".join(table[c] for c in squeezed)
    if len(body) > 1 and not _COMMAND.fullmatch(body) and not (body[0] == "(" and body[-1] == ")"):
        return m.group(1) + "(" + body + ")"
    return m.group(0)
