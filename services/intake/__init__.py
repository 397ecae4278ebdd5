"""Intake: requests in. Web forms, external form posts, the JSON API, and the requester's
tracking page (kept up to date from case events)."""
