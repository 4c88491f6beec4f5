"""Shared pytest setup: import path, offline environment, and the shipped corpus.

Keep this file small; fixtures here are additive and session-scoped.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.dont_write_bytecode = True  # leave no __pycache__ next to the code under test
# hypothesis caches outside the repository (read lazily, so setting it here is in time)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "pinpoint-hypothesis"))

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import settings  # noqa: E402

settings.apply_offline_defaults()  # before anything imports tiktoken

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT / "data" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def manifest_docs(corpus_dir):
    from ingest.manifest import load_manifest

    return load_manifest(corpus_dir)


@pytest.fixture(scope="session")
def corpus_units(corpus_dir, manifest_docs):
    """{doc key: [Unit, ...] in document order} for every shipped document, parsed once."""
    from ingest.parse import parse_document

    return {d.key: parse_document(d, corpus_dir, manifest_docs) for d in manifest_docs}
