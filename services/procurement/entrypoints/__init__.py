"""Procurement's edges: the app factory, the API and desk blueprints, the Celery tasks. Each parses what comes
in, calls a handler, and answers; no rules and no SQL of its own beyond reads for a page."""
