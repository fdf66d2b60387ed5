"""Source code pasted into plain text (a scraped blog post) -> the line ranges that are code.

Plain text has no fences, so a snippet arrives as bare lines between paragraphs. Each line
is classed on its own (clear code, possible code, prose), then runs of code-ish lines become
blocks only when they hold enough clear code. The bias is deliberate: a code line left as
prose still reads, a prose paragraph shown as code does not.
"""

from __future__ import annotations

import re
from enum import Enum


class Kind(Enum):
    BLANK = 0
    PROSE = 1
    WEAK = 2  # code only next to code: comments, indented lines, closing brackets, output
    STRONG = 3  # code on its own shape: import, def, assignment, call statement


_IDENT = r"[A-Za-z_]\w*"
_TARGET = rf"{_IDENT}(?:\.{_IDENT})*(?:\[[^\]]*\])*"
_STRONG_RES = [
    rf"import {_TARGET}(?: as {_IDENT})?(?:, {_TARGET}(?: as {_IDENT})?)*;?",
    rf"from \.*{_TARGET} import (?:\*|\(|{_IDENT}(?: as {_IDENT})?(?:, {_IDENT}(?: as {_IDENT})?)*,?)",
    rf"(?:async )?def {_IDENT}\(.*\)(?: -> .+)?:",
    rf"class {_IDENT}(?:\(.*\))?:",
    rf"@{_TARGET}(?:\(.*\))?",  # a decorator
    r"(?:else|try|finally):|break|continue|pass|return",
    r"(?:print|len|range|console\.\w+)\(.*\);?",
    rf"(?:const|let|var) {_IDENT} = .+",
    rf"(?:export )?function {_IDENT}?\(.*\) *\{{?",
]
_STRONG = re.compile("|".join(f"(?:{r})" for r in _STRONG_RES))
_SHELL = r"(?:\$ )?(?:pip3?|npm|yarn|conda|brew|apt(?:-get)?|docker|kubectl|git|cargo) "
_SMALL_WORDS = re.compile(r"\b(?:a|an|the|is|are|to|of|you|we|it|this|that|with|and|or|for)\b", re.I)
_SHELL_CMD = re.compile(_SHELL + r"(?:install|add|run|clone|pull|push|build|exec|apply|create|activate|-\S+)\b.*")
# Clear enough to stand alone as a one-line block.
_ALONE = re.compile(rf"import |from \S+ import |def |class |{_SHELL}")
# Compound statements count only when the next line is indented under them (see _opener_ok).
_OPENER = re.compile(r"(?:async )?for .+ in .+:|(?:while|if|elif|(?:async )?with) .+:|except\b.*:")
_ASSIGN = re.compile(rf"(?P<lhs>{_TARGET}(?:\s*,\s*{_TARGET})*)\s*(?:[-+*/%@&|^]|//|\*\*|>>|<<)?=(?!=)\s*(?P<rhs>\S.*)")
_CALL = re.compile(rf"{_TARGET}\(")
_RETURN = re.compile(r"(?:return|raise|yield|assert|del) \S.*")
_COMMENT = re.compile(r"(?:#+|//)(?: .*)?|#!.*")
_CLOSER = re.compile(r"[)\]}]+[;,]?:?")
_CONTINUES = re.compile(r".*[(\[{,\\]")
_LIST_ITEM = re.compile(r"(?:[•·▪◦‣–—*-]|\d{1,3}[.)])\s")
_STRING = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
# Two names side by side ('if you ask me', 'return to sender') is English: code puts an
# operator or a keyword between names. Strings and comments are removed before looking.
_PAIR = re.compile(r"(?<![\w.])(?=([A-Za-z_]\w*) ([A-Za-z_]\w*)\b)")
_KEYWORDS = frozenset(
    "and as assert async await break class const continue def del elif else except export default finally for from"
    " function if import in is lambda let new not of or pass raise return typeof var while with yield None True False".split()
)
_SENTENCE_END = re.compile(r".* [A-Za-z][a-z']*[.!?]")  # '... the end.' ends a sentence; 'x = 1.' does not
# 'F = ma', 'Total = 42': a letter or a Word = a plain value reads as math or a label, not code
_PLAIN_LHS = re.compile(r"[A-Za-z]|[A-Z][a-z]+")
_CODE_RHS = re.compile(r"[(\[{'\"]|\w\.\w|\w_\w")


def _code_text(line: str) -> str:
    """The line without its string literals and trailing comment: what is left must look like code."""
    return _STRING.sub("''", line).split(" #", 1)[0]


def _prose_like(line: str) -> bool:
    text = _code_text(line)
    pairs = (m.groups() for m in _PAIR.finditer(text))
    return bool(_SENTENCE_END.fullmatch(text)) or any(a not in _KEYWORDS and b not in _KEYWORDS for a, b in pairs)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _opener_ok(lines: list[str], i: int) -> bool:
    """`for x in y:` is code only with an indented body under it; `if you ask me:` has none."""
    j = i + 1
    while j < len(lines) and not lines[j].strip():  # no slicing: a long file has many openers
        j += 1
    return j < len(lines) and _indent(lines[j]) > _indent(lines[i])


def _is_call(text: str) -> bool:
    """`np.seed(1)`, `a.b(x).c()`: the first '(' closes only at the end (so not 'f(x) = g(y)')."""
    m = _CALL.match(text.rstrip(";"))
    if not m:
        return False
    depth, rest = 1, text.rstrip(";")[m.end() :]
    for j, ch in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            tail = rest[j + 1 :]
            return not tail or (tail.startswith(".") and _is_call(tail[1:]))
    return False


def _assignment(s: str) -> Kind | None:
    m = _ASSIGN.fullmatch(s)
    if not m:
        return None
    plain = _PLAIN_LHS.fullmatch(m["lhs"]) and not _CODE_RHS.search(m["rhs"])
    return Kind.WEAK if plain else Kind.STRONG


def _statement(lines: list[str], i: int) -> Kind | None:
    """Kind of a line by its statement shape, None when it has none."""
    s = lines[i].strip()
    if _COMMENT.fullmatch(s) or _CLOSER.fullmatch(s):
        return Kind.WEAK
    if _SHELL_CMD.fullmatch(s):  # 'pip install numpy pandas' is all names: English shows in its small words
        return Kind.PROSE if _SENTENCE_END.fullmatch(s) or _SMALL_WORDS.search(s) else Kind.STRONG
    if _prose_like(s):  # English words win over any shape below
        return Kind.PROSE
    if _STRONG.fullmatch(s) or (_OPENER.fullmatch(s) and _opener_ok(lines, i)):
        return Kind.STRONG
    if _is_call(_code_text(s)) or _RETURN.fullmatch(s):
        return Kind.STRONG
    return _assignment(s)


def classify(lines: list[str], i: int) -> Kind:
    raw = lines[i]
    s = raw.strip()
    if not s:
        return Kind.BLANK
    if _LIST_ITEM.match(s) or s.startswith("\\"):  # bullets and LaTeX are never code
        return Kind.PROSE
    kind = _statement(lines, i)
    if kind is not None:
        return kind
    if _indent(raw) >= 2 or _CONTINUES.fullmatch(s):
        return Kind.WEAK
    return Kind.PROSE


def _runs(kinds: list[Kind]) -> list[tuple[int, int]]:
    """[start, end) runs of code-ish lines; blank lines join a run only with code on both sides."""
    runs, start = [], None
    for i, k in enumerate(kinds + [Kind.PROSE]):
        if k in (Kind.STRONG, Kind.WEAK):
            start = i if start is None else start
        elif k is Kind.PROSE and start is not None:
            end = i
            while kinds[end - 1] is Kind.BLANK:
                end -= 1
            runs.append((start, end))
            start = None
    return runs


def _paragraphs(kinds: list[Kind], start: int, end: int) -> list[tuple[int, int]]:
    out, first = [], start
    for i in range(start, end + 1):
        if i == end or kinds[i] is Kind.BLANK:
            if first < i:
                out.append((first, i))
            first = i + 1
    return out


_OUTPUT = re.compile(r"##+ .*[\[\]<>:=\d].*")  # knitr/Jupyter-style '## [1] 0.5' output under code


def _trim(lines: list[str], kinds: list[Kind], start: int, end: int) -> tuple[int, int]:
    """Drop edge paragraphs with no clear code: a lone `# note` before or after a snippet is
    more likely a scraped heading than a comment. Output lines after code stay with it."""
    paras = _paragraphs(kinds, start, end)
    has_code = [any(kinds[j] is Kind.STRONG for j in range(a, b)) for a, b in paras]
    if not any(has_code):
        return start, start
    first = has_code.index(True)
    last = len(paras) - 1
    while not has_code[last] and not all(_OUTPUT.fullmatch(lines[j].strip()) for j in range(*paras[last])):
        last -= 1
    return paras[first][0], paras[last][1]


def _enough(lines: list[str], kinds: list[Kind], start: int, end: int) -> bool:
    """Two clear code lines make a block; one alone must be unmistakable (an import, a def)."""
    strong = [j for j in range(start, end) if kinds[j] is Kind.STRONG]
    if len(strong) >= 2:
        return True
    return len(strong) == 1 and bool(_ALONE.match(lines[strong[0]].strip()))


def code_spans(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) line ranges of `lines` that are source code, in order."""
    kinds = [classify(lines, i) for i in range(len(lines))]
    spans = []
    for start, end in _runs(kinds):
        a, b = _trim(lines, kinds, start, end)
        if b > a and _enough(lines, kinds, a, b):
            spans.append((a, b))
    return spans


_PYTHON = re.compile(r"^\s*(?:import \w|from \S+ import |def \w|class \w|print\(|elif |for .+ in .+:$)|\b(?:None|True|False|self)\b", re.M)
_JS = re.compile(r"^\s*(?:const |let |var |function\b|console\.)|=>|;\s*$", re.M)
_SHELL_LINE = re.compile(rf"^\s*{_SHELL}", re.M)


def guess_language(code: str) -> str:
    """A fence language only when the snippet says so itself; '' leaves the block unhighlighted.
    (Pygments' guess_lexer is no help here: on short snippets it names unrelated languages.)"""
    js, py = bool(_JS.search(code)), bool(_PYTHON.search(code))
    if _SHELL_LINE.search(code) and not (js or py):
        return "bash"
    if py and not js:
        return "python"
    if js and not py:
        return "javascript"
    return ""


def fence(lines: list[str], lang: str) -> str:
    """A fenced block holding `lines` as written; the fence outgrows any backtick run inside."""
    code = "\n".join(ln.rstrip() for ln in lines)
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{code}\n{ticks}"


def fenced_blocks(lines: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, fenced markdown) for each code span. A snippet that names no language
    (`y = f(x)` could be many) takes the post's one language when its other snippets agree."""
    spans = code_spans(lines)
    langs = [guess_language("\n".join(lines[a:b])) for a, b in spans]
    named = {lang for lang in langs if lang}
    default = named.pop() if len(named) == 1 else ""
    return [(a, b, fence(lines[a:b], lang or default)) for (a, b), lang in zip(spans, langs, strict=True)]
