"""Procurement's app factory. It serves health and OpenAPI; its endpoints come with its issue."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    return create_service_app("procurement", "procurement", [], settings)
