"""Every event notify handles: the bus imports this module (``handlers_module``), which imports
the modules whose handlers register themselves: the emails, the PDPA's erasure, the breach
register's notices and reminders."""
from services.notify.handlers import breaches, emails, privacy  # noqa: F401
