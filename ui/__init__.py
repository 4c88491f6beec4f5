"""Pinpoint web UI (gradio): chat, drafting lookup, evaluation report; API endpoints /ask and /cite."""
