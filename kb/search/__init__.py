"""Semantic + lexical search: chunking, embedding (cached), compression, index files, query scoring.

The build calls `related_step` (transform, after resolve) and `emit_search` (emitter);
`kb search` reads what `emit_search` wrote, with the same scoring as templates/static/search.js.
"""
