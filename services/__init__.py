"""Services over the index: ask (answers with citations) and cite (reference lookup)."""
