"""kb: a static site generator for Obsidian-style knowledge bases.

The pipeline reads top to bottom: load (files -> Note) -> transform (parse,
resolve, related) -> emit (pages, tags, feeds, sitemap, search index).
"""

__version__ = "0.1.0"
