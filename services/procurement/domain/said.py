"""A refusal's message that a page can say in its own language: ``shared.said`` (one mechanism for
every service); procurement's keys are ``proc.refusal.<key>``, and its schemas' fixed messages are
registered there by ``services.procurement.messages``."""
from __future__ import annotations

from shared.said import Said

__all__ = ["Said"]
