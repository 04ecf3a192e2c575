"""The REST API: Corda 5's flow routes over flows that run as Temporal workflows."""

from app.api.main import create_app

__all__ = ["create_app"]
