"""The composition root: what puts the services together into processes. The command line
(``cli``), the embedded default (``embedded``: ``sopdesk up``), the web gateway (``gateway``),
the workers' task modules and beat schedule (``worker``) and the tests' helpers (``testing``).
It may import anything; nothing in ``shared/`` or ``services/`` imports it."""
