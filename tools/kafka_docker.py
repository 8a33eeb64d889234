"""The Docker side of start_kafka: the client, finding and running broker containers, their logs.

The broker we run is configured like Dekaf's own stress brokers (thomhurst/Dekaf at b294b56,
tools/Dekaf.StressTests/Infrastructure/KafkaEnvironment.cs:80-98, 220-226): byte-based
retention swept every 500 ms from the first second, and a 2 GB heap. Without them a producer at
~1 GB/s writes tens of GB per run and the disk fills after a few runs.
"""

from __future__ import annotations

import threading
from typing import Any

import docker.errors

from tools.base import ToolContext
from tools.errors import ToolError
from tools.kafka_protocol import parse_bootstrap
from tools.target_config import TargetConfig

OUR_LABEL = "perf-trace-analyzer.kafka"
"""Label on every container we start; the only containers `pta kafka stop` removes."""

KRAFT_CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
"""The cluster id Dekaf's CI and Testcontainers use (a base64 UUID, as KRaft requires)."""

DEKAF_BROKER_SETTINGS = {
    "KAFKA_LOG_RETENTION_MS": "300000",
    "KAFKA_LOG_RETENTION_BYTES": "67108864",
    "KAFKA_LOG_SEGMENT_BYTES": "16777216",
    "KAFKA_LOG_SEGMENT_DELETE_DELAY_MS": "0",
    "KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS": "500",
    "KAFKA_LOG_INITIAL_TASK_DELAY_MS": "1000",
    "KAFKA_LOG_CLEANUP_POLICY": "delete",
    "KAFKA_REPLICA_LAG_TIME_MAX_MS": "5000",
    "KAFKA_HEAP_OPTS": "-Xmx2g -Xms2g",
}
"""Dekaf's RetentionConfig and BrokerHeapOpts (KafkaEnvironment.cs:80-98), verbatim."""

LOG_TAIL_LINES = 25
DOCKER_HINT = (
    "Start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: open Docker Desktop) "
    "or install it (https://docs.docker.com/engine/install/), or start a broker yourself and "
    "set KAFKA_BOOTSTRAP_SERVERS."
)


def docker_client(ctx: ToolContext) -> Any:
    """A Docker SDK client that answered a ping, from the context's factory.

    Raises:
        ToolError: Docker is not installed, not running, or not configured, with the fix.
    """
    if ctx.docker_factory is None:
        raise ToolError(f"No Docker client is configured in this run. {DOCKER_HINT}")
    try:
        client = ctx.docker_factory()
        client.ping()
    except docker.errors.DockerException as exc:
        raise ToolError(f"Docker is not running or not installed ({exc}). {DOCKER_HINT}") from exc
    return client


def image_of(container: Any) -> str:
    """The image the container was created from."""
    return str(container.attrs.get("Config", {}).get("Image", ""))


def _created(container: Any) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of the container's creation (UTC; sortable as text)."""
    return str(container.attrs.get("Created", ""))[:19]


def _published_9092(container: Any) -> str | None:
    bindings = (container.ports or {}).get("9092/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return str(binding["HostPort"])
    return None


def _looks_like_kafka(container: Any) -> bool:
    labels = container.labels or {}
    named = f"{image_of(container)} {container.name}".lower()
    return OUR_LABEL in labels or "kafka" in named or _published_9092(container) is not None


def find_kafka_container(client: Any) -> tuple[Any, str | None] | None:
    """A running container that looks like Kafka (ours, image name, or published 9092).

    Returns the container and the host port 9092 is published on (None if unpublished).
    """
    for container in client.containers.list():
        if _looks_like_kafka(container):
            return container, _published_9092(container)
    return None


def container_created_since(client: Any, since: str) -> Any | None:
    """The newest Kafka-looking container, running or exited, created at or after ``since``.

    Used after a repository's start script: its `docker run -d` returns at once, and a broker
    that exits right away (an invalid CLUSTER_ID, say) is only visible through its container.
    """
    found = [
        c for c in client.containers.list(all=True) if _looks_like_kafka(c) and _created(c) >= since
    ]
    return max(found, key=_created, default=None)


def kafka_environment(port: int) -> dict[str, str]:
    """apache/kafka's KRaft single-node settings plus Dekaf's broker settings."""
    return {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://localhost:{port}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "CLUSTER_ID": KRAFT_CLUSTER_ID,
        **DEKAF_BROKER_SETTINGS,
    }


def run_kafka_container(
    ctx: ToolContext, client: Any, config: TargetConfig, tag: str | None, bootstrap: str
) -> Any:
    """Pulls (if needed) and runs apache/kafka, labelled as ours, port 9092 published."""
    image = f"{config.kafka_image}:{tag or config.kafka_tag}"
    _, port = parse_bootstrap(bootstrap)
    _ensure_image(ctx, client, config.kafka_image, tag or config.kafka_tag)
    for old in client.containers.list(all=True, filters={"label": OUR_LABEL}):
        old.remove(force=True)  # a stopped container of ours would block the name and port
    ctx.progress(f"starting {image} on port {port}", None, None)
    try:
        return client.containers.run(
            image,
            detach=True,
            name=f"pta-kafka-{port}",
            labels={OUR_LABEL: "1", "perf-trace-analyzer.repo": str(ctx.repo)},
            ports={"9092/tcp": port},
            environment=kafka_environment(port),
        )
    except docker.errors.APIError as exc:
        raise ToolError(f"Docker could not start {image}: {_explain(exc)}") from exc


def _ensure_image(ctx: ToolContext, client: Any, repository: str, tag: str) -> None:
    try:
        client.images.get(f"{repository}:{tag}")
        return
    except docker.errors.ImageNotFound:
        pass
    ctx.progress(f"pulling {repository}:{tag}", None, None)
    try:
        client.images.pull(repository, tag=tag)
    except docker.errors.APIError as exc:
        raise ToolError(
            f"Pulling {repository}:{tag} failed; the registry said: {_explain(exc)}"
        ) from exc


def _explain(exc: docker.errors.APIError) -> str:
    return str(getattr(exc, "explanation", None) or exc)


def container_logs(container: Any, lines: int = LOG_TAIL_LINES) -> str:
    """The container's last log lines (empty when Docker cannot give them)."""
    try:
        raw = container.logs(tail=lines)
    except docker.errors.DockerException:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def check_alive(container: Any | None, cancel: threading.Event) -> None:
    """Raises at once when the run was cancelled or the broker's container is gone or exited.

    Raises:
        ToolError: with the container's last log lines when it exited.
    """
    if cancel.is_set():
        raise ToolError("start_kafka was cancelled")
    if container is None:
        return
    try:
        container.reload()
    except docker.errors.NotFound as exc:
        raise ToolError(f"container {container.name} disappeared while starting") from exc
    if container.status in ("exited", "dead"):
        raise ToolError(
            f"container {container.name} ({image_of(container)}) exited while starting; "
            f"last log lines:\n{container_logs(container)}"
        )


def stop_our_kafka(client: Any) -> list[str]:
    """Removes every container labelled as ours (never any other); returns their names."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": OUR_LABEL}):
        if OUR_LABEL not in (container.labels or {}):
            continue  # trust the label itself, not only the daemon's filter
        container.remove(force=True)
        removed.append(str(container.name))
    return removed
