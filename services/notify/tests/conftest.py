"""Fixtures of notify's tests (the shared ones come from sopdesk/testing.py)."""
import pytest

from shared.config import get_settings, set_settings
from shared.mailcatcher import free_port


@pytest.fixture
def smtp_away():
    """SMTP pointing at a port where nothing listens; ``set_settings(smtp_away)`` brings it back."""
    settings = get_settings()
    set_settings(settings.with_changes(smtp_port=free_port(), smtp_timeout=2))
    yield settings
    set_settings(settings)
