"""Assignment's rules, pure: no Flask, SQLAlchemy or Celery (tests/unit/test_layers.py holds it to that)."""
