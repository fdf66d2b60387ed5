"""affected(): which pages an edit changes, worked out in one place.

Every page kb writes shows some facts about other notes: a note page shows the
titles, URLs and link contexts of its backlinks, and the HTML of the notes it
embeds; tag pages, home, archive and feeds show titles, URLs, dates and tags.
`NoteInfo` holds exactly those facts for one note. `affected(before, after,
changed)` compares two snapshots and says what to re-parse, re-render and
delete. It is a pure function, so tests can feed it two full builds; `kb serve`
(kb.rebuild) feeds it the state before and after applying a batch of edits.

Quartz lets each emitter decide its own rebuild and misses pages that embed or
link to the edited note (#791, #1709); MkDocs --dirty compares mtimes and leaves
navigation stale. Here the dependencies are read off the notes themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kb.emit.common import page_path
from kb.emit.pages import tag_url, title_key
from kb.model import BuildContext, Diagnostic, Note
from kb.transform.resolve import line_breaks, outgoing


@dataclass(frozen=True)
class NoteInfo:
    """What other pages (and the note's own page, beyond its HTML) show about a note."""

    slug: str
    title: str
    date: datetime | None
    tags: tuple[str, ...]
    targets: tuple[str | None, ...]  # resolved destination of every link, in order
    embeds: frozenset[str]  # notes whose content this note's HTML includes
    out: tuple[tuple[str, str], ...]  # (linked note, backlink context)
    related: tuple[str, ...] = ()  # shown with their titles on this note's page
    anchors: frozenset[object] = frozenset()  # headings and block ids that links to it may name
    anchored: frozenset[str] = frozenset()  # notes it links to a heading or block of
    problems: tuple[Diagnostic, ...] = ()
    card: str = ""  # what a listing may show besides title and date: description, frontmatter

    @property
    def label(self) -> tuple[object, ...]:
        """How other notes' pages name it: backlinks and related notes show title and URL."""
        return (self.slug, self.title)

    @property
    def listing(self) -> tuple[object, ...]:
        """The part shown in lists (home, archive, tag pages, feeds). Themes may show any
        frontmatter field there (the default one shows `description`), so all of it counts."""
        return (self.slug, self.title, self.date, self.card)


def anchors_of(note: Note) -> frozenset[object]:
    """Everything kb.markdown.env.find_fragment looks at in a link's target."""
    return frozenset([(h.anchor, h.text, h.source) for h in note.headings] + ["^" + b for b in note.block_ids])


def note_info(note: Note, notes: dict[str, Note], problems: Iterable[Diagnostic] = (), breaks: bool = False) -> NoteInfo:
    return NoteInfo(
        slug=note.slug,
        title=note.title,
        date=note.date,
        tags=tuple(note.tags),
        targets=tuple(link.resolved for link in note.links),
        embeds=frozenset(link.resolved for link in note.links if link.embed and link.resolved),
        out=tuple(outgoing(note, notes, breaks).items()),
        related=tuple(note.related),
        anchors=anchors_of(note),
        anchored=frozenset(link.resolved for link in note.links if link.heading and link.resolved),
        problems=tuple(problems),
        card=repr((note.description, note.updated, sorted(note.meta.items(), key=lambda kv: kv[0]))),
    )


def snapshot(ctx: BuildContext, paths: Iterable[str] | None = None) -> dict[str, NoteInfo]:
    problems = ctx.extra.get("problems", {})
    keys = ctx.notes.keys() if paths is None else [p for p in paths if p in ctx.notes]
    breaks = line_breaks(ctx)
    return {p: note_info(ctx.notes[p], ctx.notes, problems.get(p, ()), breaks) for p in keys}


@dataclass
class Affected:
    reparse: set[str] = field(default_factory=set)  # notes whose HTML must be rendered again
    render: set[str] = field(default_factory=set)  # notes whose page must be written again
    tags: set[str] = field(default_factory=set)  # tag pages to write (tags that still exist)
    removed: set[str] = field(default_factory=set)  # site-relative files to delete
    lists: bool = False  # home, tag index, archive, sitemap
    home: bool = False  # the home page alone (a summary it shows changed)
    feeds: bool = False  # RSS and Atom

    def __bool__(self) -> bool:
        return bool(self.reparse or self.render or self.tags or self.removed or self.lists or self.home or self.feeds)


def with_parents(tags: Iterable[str]) -> set[str]:
    """The tags and every parent of each (a/b/c: a, a/b, a/b/c): the tag pages that list a note."""
    out = set()
    for tag in tags:
        parts = tag.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def _embedders(after: dict[str, NoteInfo], seeds: set[str]) -> set[str]:
    """Notes that embed any of `seeds`, directly or through other embeds."""
    by_target: dict[str, set[str]] = defaultdict(set)
    for p, info in after.items():
        for t in info.embeds:
            by_target[t].add(p)
    found: set[str] = set()
    todo = list(seeds)
    while todo:
        for p in by_target.get(todo.pop(), ()):
            if p not in found:
                found.add(p)
                todo.append(p)
    return found


def _retold(before: dict[str, NoteInfo], after: dict[str, NoteInfo], relabeled: set[str]) -> set[str]:
    """Notes not in `relabeled` whose title is shared with another note now and was not before, or
    the other way round: lists show their path after the title (kb/emit/pages.py tell_apart), or no
    longer. Only the titles of `relabeled` notes (retitled, new or gone) can change that."""
    keys = {title_key(side[p].title) for p in relabeled for side in (before, after) if p in side}
    if not keys:
        return set()

    def shared(side: dict[str, NoteInfo]) -> set[str]:
        counts = Counter(k for k in (title_key(i.title) for i in side.values()) if k in keys)
        return {k for k, c in counts.items() if c > 1}

    flipped = shared(before) ^ shared(after)
    return {p for p, info in after.items() if p not in relabeled and title_key(info.title) in flipped}


def affected(before: dict[str, NoteInfo], after: dict[str, NoteInfo], changed: set[str]) -> Affected:
    """`changed`: notes whose file was edited, created or deleted (drafts count as deleted).

    `before` and `after` must hold every note for which anything differs; notes
    absent from one side were created or deleted.
    """
    a = Affected()
    # kb serve keeps unchanged entries as the same objects: only look at the rest
    differs = [p for p, info in after.items() if before.get(p) is not info]
    gone = {p for p in before if p not in after}
    new = {p for p in differs if p not in before}
    moved = {p for p in differs if p in before and before[p].slug != after[p].slug}
    # 1. HTML: the changed notes, notes whose links now resolve elsewhere, notes
    #    linking to a page that moved or to a heading of a note whose headings changed,
    #    then everything embedding any of those.
    reparse = (changed & after.keys()) | new
    reparse.update(p for p in differs if p in before and before[p].targets != after[p].targets)
    # links show their target's URL; their text is what the link says, as in
    # Obsidian, never the target's title, so a retitled note re-parses nothing else
    url_changed = gone | moved
    if url_changed:
        reparse.update(p for p, info in after.items() if not url_changed.isdisjoint(t for t in info.targets if t))
    # a link to a heading points at its id, or at the page's top when it is gone
    reanchored = {p for p in differs if p in before and before[p].anchors != after[p].anchors}
    if reanchored:
        reparse.update(p for p, info in after.items() if not reanchored.isdisjoint(info.anchored))
    reparse |= _embedders(after, reparse | gone)
    a.reparse = reparse & after.keys()
    # 2. Pages: re-parsed notes, notes whose backlinks or problems changed.
    render = set(a.reparse)
    relisted: set[str] = set()
    relabeled: set[str] = set()
    for p in [*differs, *gone]:
        old, cur = before.get(p), after.get(p)
        if old is not None and cur is not None and old.out == cur.out and old.listing == cur.listing:
            if old.problems != cur.problems:
                render.add(p)
            continue
        old_out = dict(old.out) if old else {}
        cur_out = dict(cur.out) if cur else {}
        if old is None or cur is None or old.listing != cur.listing:
            relisted.add(p)
        label_changed = old is None or cur is None or old.label != cur.label
        if label_changed:
            relabeled.add(p)
        for dest in old_out.keys() | cur_out.keys():
            if label_changed or old_out.get(dest) != cur_out.get(dest):
                render.add(dest)
    # a title that became shared, or unique again, changes how lists name the other notes that have it
    retold = _retold(before, after, relabeled)
    for p in retold:
        render.update(dest for dest, _ in after[p].out)  # their backlinks lists name it
    relabeled |= retold
    relisted |= retold
    if relabeled:  # "related notes" lists show titles and URLs too
        render.update(p for p, info in after.items() if not relabeled.isdisjoint(info.related))
    a.render = render & after.keys()
    # 3. Lists: anything a listing shows (title, URL, date, tags, which notes exist).
    listed = relisted | {p for p in differs if p in before and before[p].tags != after[p].tags}
    tags: set[str] = set()
    for p in listed:
        for side in (before, after):
            if p in side:
                tags |= with_parents(side[p].tags)
    new_tags = with_parents(t for info in after.values() for t in info.tags) if tags else set()
    a.tags = tags & new_tags
    a.lists = bool(listed)
    a.feeds = a.lists or any(after[p].date for p in a.reparse)
    # 4. Files to delete: pages of notes that left or moved, tag pages of tags that left.
    live = {page_path(after[p].slug + "/") for p in moved | new}
    for p in gone | moved:
        a.removed.add(page_path(before[p].slug + "/"))
    a.removed.update(page_path(tag_url(t)) for t in tags - new_tags)
    a.removed -= live
    return a
