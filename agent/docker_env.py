"""The one place the real Docker SDK client is made (the composition root's concern)."""

from __future__ import annotations

from typing import Any


def docker_from_env() -> Any:
    """The Docker client of the environment (``DOCKER_HOST`` etc.); the SDK is imported lazily
    because it is slow to import and only the Kafka tools and ``pta doctor`` need it."""
    import docker

    return docker.from_env()
