"""Pinpoint at scale: generated corpora with the shipped corpus's structure, and their benchmark.

``sentences`` collects the real sentences, clauses, lead-ins and headings of
the shipped corpus; ``generate`` recombines them into many reports and
treaties with a ``documents.toml`` that the normal ingest reads; ``probes``
are the measuring child processes (ingest, embedder floor, queries);
``report`` renders the Markdown and the chart; ``python -m eval.scale`` runs
it all for 10k, 50k and 100k units.
"""
