"""Notify: email out. Templates in Thai and English, one delivery row per (event, recipient,
template), sending with retries and backoff, and the log staff read."""
