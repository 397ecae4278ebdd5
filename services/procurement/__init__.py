"""Procurement: vendors, assets, procurement projects, quotes, contracts, milestones and payments.
So far only its plumbing (health, OpenAPI, outbox, inbox); the domain comes with its own issue."""
