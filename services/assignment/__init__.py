"""Assignment: the SOP engine. Packs, cases, steps, decisions, assignment, SLA clocks and the
staff directory (accounts and roles)."""
