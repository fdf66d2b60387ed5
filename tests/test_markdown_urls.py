"""kb.markdown.urls: the normalizeLink fast path gives markdown-it's own result."""

from __future__ import annotations

import random

from markdown_it.common.normalize_url import normalizeLink

from kb.markdown import make_md
from kb.markdown.urls import _PLAIN_URL, fast_normalize_link


def test_fast_path_agrees_with_markdown_it_on_random_urls():
    rng = random.Random(5)
    kept = list("AZaz09;/?:@&=+$,-_.!~*'()#") + ["%2F", "%a0", "%zz", "//", ":8080", "@", "[", " ", "é", "\\"]
    hits = 0
    for _ in range(20000):
        host = "".join(rng.choice("az09-." if rng.random() < 0.8 else "AÉ_:@") for _ in range(rng.randint(0, 12)))
        url = rng.choice(["https://", "http://", "obsidian://", "HTTP://", "mailto:", "", "//"]) + host
        url += rng.choice(["/", "?", "#", ""]) + "".join(rng.choice(kept) for _ in range(rng.randint(0, 6)))
        hits += bool(_PLAIN_URL.fullmatch(url))
        assert fast_normalize_link(url) == normalizeLink(url), url
    assert hits > 500  # the fast path itself was exercised


def test_urls_that_need_normalizing_still_get_it():
    for url in ["https://Example.com/a b", "https://bücher.de/", "https://x.org/%zz"]:
        assert fast_normalize_link(url) == normalizeLink(url) != url


def test_parser_uses_the_fast_path():
    html = make_md().render("[a](https://example.org/x?y=1#z) [b](https://bücher.de/a b)")
    assert 'href="https://example.org/x?y=1#z"' in html and "xn--bcher-kva.de" in html
