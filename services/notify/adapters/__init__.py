"""Notify's parts that touch the outside: its tables (models), their migrations, its side of the
event bus, and the SMTP mailer. Handlers use them; they hold no rules."""
