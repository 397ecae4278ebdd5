"""Procurement's shapes of what its API takes and gives (marshmallow), by what they describe."""
