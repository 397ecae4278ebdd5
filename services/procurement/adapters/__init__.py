"""Procurement's parts that touch the outside: its tables (models), their migrations, its side of the
event bus, and the documents kept on disk. Handlers use them; they hold no rules."""
