"""ui/gradio_stubs.py: gradio imported through the ui package does not rewrite its stubs, and still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import ui
import gradio as gr
from gradio import blocks_events, component_meta
print(component_meta.create_or_modify_pyi.__name__, blocks_events.create_or_modify_pyi.__name__)
with gr.Blocks() as demo:
    box = gr.Textbox()
    out = gr.Markdown()
    box.submit(lambda s: s.upper(), box, out)
print(len(demo.fns), gr.Textbox.EVENTS[0])
"""


def test_gradio_imported_via_ui_skips_stub_rewriting_and_builds_blocks() -> None:
    """In a fresh interpreter (gradio not yet imported): both callers of create_or_modify_pyi get the
    no-op, and components still carry their events (the metaclass ran around the skipped call)."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = done.stdout.split("\n")[:2]
    assert first == "_no_stub _no_stub"
    assert second.split()[0] == "1"
