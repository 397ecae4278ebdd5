"""Assignment's rules without a database or a broker: domain/ on plain values and the real packs."""
