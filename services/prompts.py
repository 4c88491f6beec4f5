"""Prompt and message templates, one file per language under ``prompts/``, loaded as llama-index templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from llama_index.core.prompts import PromptTemplate


@lru_cache(maxsize=64)
def template(prompts_dir: Path, language: str, name: str) -> PromptTemplate:
    """``prompts/<language>/<name>.txt``; English when the language has no such file."""
    path = prompts_dir / language / f"{name}.txt"
    if not path.exists():
        path = prompts_dir / "en" / f"{name}.txt"
    return PromptTemplate(path.read_text(encoding="utf-8").strip())
