"""Skip gradio's rewriting of its own type stubs at import time.

Every ``import gradio`` re-parses the source of each of its ~80 component classes (``ast``) and
rewrites the matching ``.pyi`` stub in site-packages (``create_or_modify_pyi`` in
``gradio/component_meta.py``, called by the components' metaclass): an aid for gradio's own
developers. The wheel already ships the stubs and nothing reads them at run time, so the served UI
only pays for it: it was more than half of ``import gradio`` and a large share of the UI's cold start
(docs/experiments.md, "ui/gradio_stubs.py").

``skip()`` must run before gradio is first imported (``ui/__init__.py`` calls it); once gradio is
imported it does nothing. Should a gradio version drop the function, the hook changes nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

TARGET = "gradio.component_meta"


def _no_stub(*_args, **_kwargs) -> None:
    """Stands in for create_or_modify_pyi: the shipped stubs stay as they are."""


class _StubSkipper(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta like the normal path finder, and replaces the stub writer as
    soon as the module has run (before gradio's components are defined, which call it)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        sys.meta_path.remove(self)  # one module, once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module) -> None:
            run(module)
            if hasattr(module, "create_or_modify_pyi"):
                module.create_or_modify_pyi = _no_stub

        spec.loader.exec_module = exec_module  # this loader object serves this one module
        return spec


def skip() -> None:
    """Install the hook unless gradio is already imported or the hook is in place."""
    if TARGET in sys.modules or any(isinstance(f, _StubSkipper) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubSkipper())
