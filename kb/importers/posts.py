"""Jekyll `_posts` and Hugo `content/` posts -> ImportedItems.

Frontmatter is kept (YAML `---` or Hugo TOML `+++`); categories/tags are mapped
to Obsidian tags, Jekyll `published: false` to `draft: true`. Liquid
`{% highlight %}` and Hugo `highlight`/`figure`/`youtube`/... shortcodes become
markdown; anything without an equivalent stays visible and is reported.
"""

from __future__ import annotations

import html
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from kb.importers.body import summary_of
from kb.importers.item import ImportedItem, normalize_tags
from kb.load import FrontmatterLoader, as_list

POST_EXT = {".md", ".markdown", ".mdown", ".mkd"}
_JEKYLL_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.M | re.S)
_HL_LIQUID = re.compile(r"\{%-?\s*highlight\s+([\w+#.-]+)[^%]*-?%\}\n?(.*?)\n?\{%-?\s*endhighlight\s*-?%\}", re.S)
_HL_HUGO = re.compile(r"\{\{[<%]\s*highlight\s+\"?([\w+#.-]+)\"?[^>%]*[>%]\}\}\n?(.*?)\n?\{\{[<%]\s*/highlight\s*[>%]\}\}", re.S)
_RAW = re.compile(r"\{%-?\s*(end)?raw\s*-?%\}")
_SHORTCODE = re.compile(r"\{\{([<%])\s*(/?)(\w[\w-]*)(.*?)\s*[>%]\}\}", re.S)
_SC_CALLOUT = re.compile(
    r"\{\{([<%])\s*(notice|hint|admonition|callout|alert|note|tip|warning)\b(.*?)[>%]\}\}(.*?)\{\{[<%]\s*/\2\s*[>%]\}\}", re.S
)
_SC_DETAILS = re.compile(r"\{\{([<%])\s*details\b(.*?)[>%]\}\}(.*?)\{\{[<%]\s*/details\s*[>%]\}\}", re.S)
_SC_ESCAPED = re.compile(r"\{\{([<%])/\*\s*(.*?)\s*\*/([>%])\}\}", re.S)
_LIQUID = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}|\{\{-?\s*([^{}]*?)\s*-?\}\}", re.S)
_ARG = re.compile(r'(\w[\w-]*)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|(\S+))|"([^"]*)"|(\S+)')


class FrontmatterError(ValueError):
    """Unreadable post frontmatter; `line` is the 1-based file line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _load_frontmatter(fm_text: str, fmt: str) -> Any:
    try:
        return tomllib.loads(fm_text) if fmt == "toml" else yaml.load(fm_text, Loader=FrontmatterLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterError(mark.line + 2 if mark else 1, f"invalid YAML frontmatter: {problem}") from exc
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) + 1 if (m := re.search(r"line (\d+)", str(exc))) else 1
        raise FrontmatterError(line, f"invalid TOML frontmatter: {exc}") from exc


def split_post(text: str) -> tuple[dict[str, Any], str, str]:
    """-> (frontmatter, body, format) where format is 'yaml', 'toml' or ''."""
    for fence, fmt in (("---", "yaml"), ("+++", "toml")):
        if text.startswith(fence + "\n"):
            end = text.find("\n" + fence, len(fence))
            if end == -1:
                break
            fm_text = text[len(fence) + 1 : end + 1]
            body = text[end + len(fence) + 1 :].lstrip("\n")
            data = _load_frontmatter(fm_text, fmt)
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise FrontmatterError(2, "frontmatter is not a mapping")
            return {str(k): v for k, v in data.items()}, body, fmt
    return {}, text, ""


def parse_args(text: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    named: dict[str, str] = {}
    for m in _ARG.finditer(text):
        if m.group(1):
            named[m.group(1)] = next(g for g in m.group(2, 3, 4) if g is not None)
        else:
            pos.append(m.group(5) if m.group(5) is not None else m.group(6))
    return pos, named


def shortcode(name: str, args: str) -> str | None:
    """Markdown for one Hugo shortcode, or None when there is no equivalent."""
    pos, kw = parse_args(args)
    first = pos[0] if pos else ""
    if name == "figure":
        src = kw.get("src", first)
        alt = kw.get("alt") or kw.get("caption") or kw.get("title") or ""
        img = f"![{alt}]({src})"
        if kw.get("link"):
            img = f"[{img}]({kw['link']})"
        cap = kw.get("caption") or kw.get("title")
        return f"{img}\n\n*{cap}*" if cap and cap != alt else img
    if name == "youtube":
        vid = kw.get("id", first)
        return f"[YouTube: {kw.get('title', vid)}](https://www.youtube.com/watch?v={vid})"
    if name == "vimeo":
        vid = kw.get("id", first)
        return f"[Vimeo: {kw.get('title', vid)}](https://vimeo.com/{vid})"
    if name in ("ref", "relref"):
        return kw.get("path", first)
    if name in ("tweet", "x"):
        user, tid = kw.get("user", ""), kw.get("id", first)
        return f"[Post by @{user}](https://x.com/{user}/status/{tid})" if user else None
    if name == "gist":
        if len(pos) >= 2:
            return f"[Gist {pos[1]}](https://gist.github.com/{pos[0]}/{pos[1]})"
    return None


def convert_markup(body: str, where: str, warnings: list[str], dialect: str) -> str:
    """Liquid (dialect 'jekyll') or Hugo shortcodes ('hugo') -> markdown; fenced code is left untouched."""
    if dialect == "jekyll":
        body = _HL_LIQUID.sub(lambda m: f"```{m.group(1)}\n{m.group(2)}\n```", body)
    else:
        body = _HL_HUGO.sub(lambda m: f"```{m.group(1)}\n{m.group(2)}\n```", body)
    convert = _liquid_prose if dialect == "jekyll" else _hugo_prose
    parts: list[str] = []
    last = 0
    for m in _FENCE.finditer(body):
        parts.append(convert(body[last : m.start()], where, warnings))
        parts.append(m.group(0))
        last = m.end()
    parts.append(convert(body[last:], where, warnings))
    return "".join(parts)


def _callout(m: re.Match[str]) -> str:
    """{{< notice warning "Title" >}}body{{< /notice >}} -> an Obsidian callout."""
    pos, kw = parse_args(m.group(3))
    kind = (kw.get("type") or (pos[0] if pos else "") or ("note" if m.group(2) in ("notice", "callout") else m.group(2)))
    title = kw.get("title") or (pos[1] if len(pos) > 1 else "")
    lines = m.group(4).strip("\n").split("\n")
    head = f"> [!{kind.lower()}]" + (f" {title}" if title else "")
    return "\n".join([head] + [f"> {ln}".rstrip() for ln in lines])


def _details(m: re.Match[str]) -> str:
    pos, kw = parse_args(m.group(2))
    summary = kw.get("summary") or kw.get("title") or (pos[0] if pos else "Details")
    return f"<details>\n<summary>{html.escape(summary)}</summary>\n\n{m.group(3).strip()}\n\n</details>"


def _hugo_prose(text: str, where: str, warnings: list[str]) -> str:
    def sc(m: re.Match[str]) -> str:
        if m.group(2):  # closing tag of a paired shortcode we could not convert: visible, like its opening
            return "`" + m.group(0) + "`"
        out = shortcode(m.group(3), m.group(4))
        if out is None:
            warnings.append(f"{where}: kept Hugo shortcode '{m.group(3)}' as text (no markdown equivalent)")
            return "`" + m.group(0) + "`"
        return out

    text = _SC_CALLOUT.sub(_callout, text)
    text = _SC_DETAILS.sub(_details, text)
    text = _SHORTCODE.sub(sc, text)
    return _SC_ESCAPED.sub(lambda m: "{{" + m.group(1) + " " + m.group(2) + " " + m.group(3) + "}}", text)


def _liquid_prose(text: str, where: str, warnings: list[str]) -> str:
    text = _RAW.sub("", text)

    def liquid(m: re.Match[str]) -> str:
        if m.group(0).startswith("`"):  # inside a code span: already literal
            return m.group(0)
        what = m.group(1) or m.group(3)
        warnings.append(f"{where}: kept Liquid tag '{what.strip()[:40]}' as text (no markdown equivalent)")
        return "`" + m.group(0) + "`"

    return re.sub(r"`[^`\n]*`|" + _LIQUID.pattern, liquid, text, flags=re.S)


def iso(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value or "")


def post_item(path: Path, root: Path, dialect: str) -> tuple[ImportedItem, list[str]]:
    """One post file -> (item, warnings). Raises ValueError on unreadable frontmatter."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    meta, body, _fmt = split_post(text)
    warnings: list[str] = []
    body = convert_markup(body, str(path), warnings, dialect)
    m = _JEKYLL_NAME.match(path.stem)
    stem = path.parent.name if path.stem == "index" else path.stem  # Hugo page bundle: folder/index.md
    title = str(meta.pop("title", "") or (m.group(2) if m else stem).replace("-", " ").strip())
    when = meta.pop("date", None) or (m.group(1) if m else "")
    cats = as_list(meta.pop("categories", None) or meta.pop("category", None))
    tags_raw = as_list(meta.pop("tags", None))
    if "published" in meta and meta.get("published") is False:
        meta.pop("published")
        meta["draft"] = True
    for key in ("layout",):  # theme-specific, means nothing to kb
        meta.pop(key, None)
    item = ImportedItem(
        title=title,
        body_markdown=body.strip() + "\n",
        guid=f"post:{rel}",  # not the kind: --format jekyll/hugo must find the same note
        source_url=str(meta.pop("canonical_url", "") or rel),
        date=iso(when),
        author=str(meta.pop("author", "") or ""),
        # none in the frontmatter: derived as Hugo's .Summary / Jekyll's excerpt would be
        description=str(meta.pop("description", "") or meta.pop("summary", "") or meta.pop("excerpt", "") or "")
        or summary_of(body),
        tags=normalize_tags(tags_raw + cats),
        original_categories=cats,
        extra=meta,
        label=rel,
    )
    if tags_raw:
        item.extra["original_tags"] = tags_raw
    return item, warnings


def post_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in POST_EXT
                  and not p.stem == "_index"  # Hugo section list pages, not posts
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
