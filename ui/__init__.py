"""Pinpoint web UI (gradio): chat, drafting lookup, evaluation report; API endpoints /ask and /cite."""

from ui import gradio_stubs

gradio_stubs.skip()  # before any ui module imports gradio (ui/gradio_stubs.py says why)
