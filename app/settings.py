"""Process settings, read from the environment; command-line flags override them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "127.0.0.1:7233"
    """Host and port of the Temporal frontend (TEMPORAL_ADDRESS)."""
    temporal_namespace: str = "default"
    """Namespace holding every vnode's flows (TEMPORAL_NAMESPACE)."""
    network_file: Path | None = None
    """Static network file (ACCORD_NETWORK); None means the packaged default network."""
    api_host: str = "127.0.0.1"
    api_port: int = 8888
    ui_url: str = "http://127.0.0.1:8233"
    """Base address of the Temporal Web UI, for the links in flow statuses (ACCORD_TEMPORAL_UI)."""

    @classmethod
    def from_environment(cls) -> Settings:
        network = os.environ.get("ACCORD_NETWORK")
        return cls(
            temporal_address=os.environ.get("TEMPORAL_ADDRESS", cls.temporal_address),
            temporal_namespace=os.environ.get("TEMPORAL_NAMESPACE", cls.temporal_namespace),
            network_file=Path(network) if network else None,
            api_host=os.environ.get("ACCORD_API_HOST", cls.api_host),
            api_port=int(os.environ.get("ACCORD_API_PORT", cls.api_port)),
            ui_url=os.environ.get("ACCORD_TEMPORAL_UI", cls.ui_url),
        )
