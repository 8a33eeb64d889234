"""start_kafka: make sure a Kafka broker answers, reusing what is there before starting one.

Order: a broker already answering on the bootstrap address → a running container that looks
like Kafka → the target repository's own start script or compose file → the Docker SDK runs
``apache/kafka`` (KRaft, single node), labelled as ours so ``pta kafka stop`` can remove it.
Ready means the broker answered an ApiVersions request, polled with tenacity to a deadline.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Literal

import docker.errors
from pydantic import BaseModel, ConfigDict, Field
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from tools.base import Tool, ToolContext
from tools.errors import ToolError
from tools.kafka_protocol import broker_answers, parse_bootstrap, probe_api_versions
from tools.target_config import TargetConfig, load_target_config

OUR_LABEL = "perf-trace-analyzer.kafka"
"""Label on every container we start; the only containers `pta kafka stop` removes."""

KRAFT_CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
"""The cluster id Dekaf's CI and Testcontainers use."""

POLL_INTERVAL_S = 1.0
LOG_TAIL_LINES = 25
START_SCRIPTS = ("start-kafka.sh", "scripts/start-kafka.sh", "tools/start-kafka.sh")
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
DOCKER_HINT = (
    "Start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: open Docker Desktop) "
    "or install it (https://docs.docker.com/engine/install/), or start a broker yourself and "
    "set KAFKA_BOOTSTRAP_SERVERS."
)


class StartKafkaArgs(BaseModel):
    """Input of start_kafka."""

    model_config = ConfigDict(extra="forbid")

    bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap address host:port; default KAFKA_BOOTSTRAP_SERVERS, the "
        "target config, else localhost:9092.",
    )
    image_tag: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="apache/kafka tag to run if needed.",
    )
    timeout_s: int = Field(default=120, ge=5, le=900, description="Seconds to wait for readiness.")


class StartKafkaResult(BaseModel):
    """A broker that answered ApiVersions, and how it was obtained."""

    bootstrap: str = Field(description="Address to pass as KAFKA_BOOTSTRAP_SERVERS.")
    how: Literal["existing", "container", "script", "started"] = Field(
        description="existing broker, a running Kafka container, the repo's script, or started "
        "by us with the Docker SDK."
    )
    container_id: str | None = Field(default=None, description="Short id of the container, if any.")
    ready_s: float = Field(description="Seconds until the broker answered.")
    detail: str = Field(default="", description="Image, script or container name used.")


def start_kafka(args: StartKafkaArgs, ctx: ToolContext) -> StartKafkaResult:
    """Make sure a Kafka broker answers a real ApiVersions request, starting one only if needed.
    Reuses a broker on the bootstrap address or a running Kafka container, else runs the target
    repository's start-kafka script or compose file, else starts apache/kafka (KRaft, single node)
    with Docker. Call it before trace_collect; skip it when the question is about an existing
    .nettrace file. Returns the bootstrap address (trace_collect uses it) and how the broker
    was found or started.
    """
    config = load_target_config(ctx.repo)
    bootstrap = config.bootstrap_address(args.bootstrap)
    try:
        parse_bootstrap(bootstrap)
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    started = time.monotonic()
    ctx.progress(f"checking for a Kafka broker on {bootstrap}", None, None)
    if broker_answers(bootstrap):
        return _ready(ctx, bootstrap, "existing", None, started, "broker already answering")
    client = docker_client(ctx)
    found = find_kafka_container(client)
    if found is not None:
        container, address = found
        address = _with_host(bootstrap, address)
        ctx.progress(f"waiting for running container {container.name}", None, None)
        wait_ready(address, args.timeout_s, ctx.cancel, container)
        return _ready(ctx, address, "container", container, started, str(container.name))
    script = find_start_script(ctx.repo)
    if script is not None:
        run_start_script(ctx, script, args.timeout_s)
        wait_ready(bootstrap, args.timeout_s, ctx.cancel, None)
        return _ready(ctx, bootstrap, "script", None, started, script[-1])
    container = run_kafka_container(ctx, client, config, args.image_tag, bootstrap)
    wait_ready(bootstrap, args.timeout_s, ctx.cancel, container)
    return _ready(ctx, bootstrap, "started", container, started, _image(container))


def _ready(
    ctx: ToolContext, bootstrap: str, how: Any, container: Any, started: float, detail: str
) -> StartKafkaResult:
    ctx.state["bootstrap"] = bootstrap
    short_id = str(container.id)[:12] if container is not None else None
    ready_s = round(time.monotonic() - started, 2)
    return StartKafkaResult(
        bootstrap=bootstrap, how=how, container_id=short_id, ready_s=ready_s, detail=detail
    )


def _with_host(bootstrap: str, published: str | None) -> str:
    if published is None:
        return bootstrap
    host, _ = parse_bootstrap(bootstrap)
    return f"{host}:{published}"


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


def _image(container: Any) -> str:
    return str(container.attrs.get("Config", {}).get("Image", ""))


def _published_9092(container: Any) -> str | None:
    bindings = (container.ports or {}).get("9092/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return str(binding["HostPort"])
    return None


def find_kafka_container(client: Any) -> tuple[Any, str | None] | None:
    """A running container that looks like Kafka (ours, image name, or published 9092).

    Returns the container and the host port 9092 is published on (None if unpublished).
    """
    for container in client.containers.list():
        labels = container.labels or {}
        port = _published_9092(container)
        if OUR_LABEL in labels or "kafka" in _image(container).lower() or port is not None:
            return container, port
    return None


def find_start_script(repo: Path) -> list[str] | None:
    """The argv of the repository's own way to start Kafka, or None."""
    for name in START_SCRIPTS:
        if (repo / name).is_file():
            return ["bash", name]
    for name in COMPOSE_FILES:
        path = repo / name
        if path.is_file() and "kafka" in path.read_text(encoding="utf-8", errors="replace"):
            return ["docker", "compose", "-f", name, "up", "-d"]
    return None


def run_start_script(ctx: ToolContext, argv: list[str], timeout_s: int) -> None:
    """Runs the repository's start script; a failure is reported with its output tail."""
    ctx.progress(f"starting Kafka with {' '.join(argv)}", None, None)
    result = ctx.runner(argv, cwd=ctx.repo, timeout=timeout_s, cancel=ctx.cancel)
    if not result.ok:
        raise ToolError(
            f"{' '.join(argv)} failed (exit {result.exit_code}, timed out: {result.timed_out}):\n"
            f"{result.output_tail[-3000:]}"
        )


def _environment(port: int) -> dict[str, str]:
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
            environment=_environment(port),
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


def wait_ready(
    bootstrap: str, timeout_s: float, cancel: threading.Event, container: Any | None
) -> None:
    """Polls ApiVersions on ``bootstrap`` until it answers or ``timeout_s`` passes.

    Raises:
        ToolError: not ready in time or the container exited, with its last log lines.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(POLL_INTERVAL_S),
        retry=retry_if_exception_type(OSError),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                _check_alive(container, cancel)
                probe_api_versions(bootstrap, timeout_s=min(3.0, timeout_s))
    except OSError as exc:
        logs = container_logs(container) if container is not None else ""
        where = f"\nLast container log lines:\n{logs}" if logs else ""
        raise ToolError(
            f"Kafka on {bootstrap} did not answer ApiVersions within {timeout_s:g} s "
            f"(last error: {exc}).{where}"
        ) from exc


def _check_alive(container: Any | None, cancel: threading.Event) -> None:
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
            f"container {container.name} exited while starting; last log lines:\n"
            f"{container_logs(container)}"
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


START_KAFKA_TOOL = Tool.from_function(start_kafka, long_running=True)
