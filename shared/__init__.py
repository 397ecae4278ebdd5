"""What every sopdesk service imports: configuration, database helpers, the event envelope,
the transactional outbox and idempotent inbox, Celery delivery, staff auth and tracking tokens."""
