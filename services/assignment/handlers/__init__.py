"""Assignment's use cases and event consumers: each takes a unit of work and a command or an event,
asks the domain, and ends in one commit (the change, its trail and its events together)."""
