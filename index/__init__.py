"""Search over units: lexical (BM25), dense (embeddings in Chroma), and their fusion."""
