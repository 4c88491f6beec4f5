"""Retrieval evaluation of Pinpoint (`python -m eval`): metrics, baselines, reports."""
