"""Entry point for uvicorn workers: settings come from the environment the CLI prepared."""

from __future__ import annotations

from fastapi import FastAPI

from licentia.server.app import create_app
from licentia.server.settings import Settings


def create_from_env() -> FastAPI:
    return create_app(Settings())
