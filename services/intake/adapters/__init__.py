"""Intake's parts that touch the outside: its tables (models), their migrations, its side of the
event bus. Handlers use them; they hold no rules."""
