"""Turn UN documents into pinpoint-addressed units (paragraphs, articles, sub-items)."""
