"""Assignment's parts that touch the outside: its tables (models), their migrations, its side of the
event bus, the pack store and the reference-data caches. Handlers use them; they hold no rules."""
