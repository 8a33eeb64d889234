"""start_kafka: make sure a Kafka broker answers, reusing what is there before starting one.

Order: a broker already answering on the bootstrap address → a running container that looks
like Kafka → by default the Docker SDK runs ``apache/kafka`` (KRaft, single node, Dekaf's broker
settings), labelled as ours so ``pta kafka stop`` can remove it; with ``kafka_start = "script"``
in the target config, the repository's own start script or compose file instead. Dekaf's
``start-kafka.sh`` is not the default: it runs cp-kafka 7.5.0 with ``CLUSTER_ID=
dekaf-local-cluster``, which KRaft's storage format refuses (not a base64 UUID), and it has no
heap setting. Whichever way it starts, the broker's container is watched: one that exits is
reported at once with its last log lines. Ready means the broker answered an ApiVersions request.
"""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from tools.base import Tool, ToolContext
from tools.errors import ToolError
from tools.kafka_docker import (
    DOCKER_HINT,
    OUR_LABEL,
    check_alive,
    container_created_since,
    container_logs,
    docker_client,
    find_kafka_container,
    image_of,
    run_kafka_container,
    stop_our_kafka,
)
from tools.kafka_protocol import broker_answers, parse_bootstrap, probe_api_versions
from tools.target_config import KAFKA_NOT_NEEDED, load_target_config

__all__ = [
    "DOCKER_HINT",
    "OUR_LABEL",
    "START_KAFKA_TOOL",
    "StartKafkaArgs",
    "StartKafkaResult",
    "docker_client",
    "start_kafka",
    "stop_our_kafka",
    "wait_ready",
]

POLL_INTERVAL_S = 1.0
CLOCK_SKEW_S = 5
"""Slack when matching a container's creation time to the start script's run."""
START_SCRIPTS = ("start-kafka.sh", "scripts/start-kafka.sh", "tools/start-kafka.sh")
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")


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
    how: Literal["existing", "container", "script", "started", "not-needed"] = Field(
        description="existing broker, a running Kafka container, the repo's script, started "
        "by us with the Docker SDK, or not-needed (the target runs without Kafka)."
    )
    container_id: str | None = Field(default=None, description="Short id of the container, if any.")
    ready_s: float = Field(description="Seconds until the broker answered.")
    detail: str = Field(default="", description="Image, script or container name used.")


def start_kafka(args: StartKafkaArgs, ctx: ToolContext) -> StartKafkaResult:
    """Make sure a Kafka broker answers a real ApiVersions request, starting one only if needed.
    Reuses a broker on the bootstrap address or a running Kafka container, else starts
    apache/kafka (KRaft, single node, Dekaf's retention and heap settings) with Docker, or the
    repository's own start script when its config asks. Call it before trace_collect; skip it
    when the question is about an existing .nettrace file or the target needs no Kafka.
    Returns the bootstrap address (trace_collect uses it) and how the broker was found or started.
    """
    config = load_target_config(ctx.repo)
    if not config.needs_kafka:
        return StartKafkaResult(
            bootstrap="", how="not-needed", ready_s=0.0, detail=KAFKA_NOT_NEEDED
        )
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
    script = find_start_script(ctx.repo) if config.kafka_start == "script" else None
    if script is not None:
        since = _utc_stamp(-CLOCK_SKEW_S)
        run_start_script(ctx, script, args.timeout_s)
        container = container_created_since(client, since)
        wait_ready(bootstrap, args.timeout_s, ctx.cancel, container)
        watched = f" ({container.name})" if container is not None else ""
        return _ready(ctx, bootstrap, "script", container, started, script[-1] + watched)
    container = run_kafka_container(ctx, client, config, args.image_tag, bootstrap)
    wait_ready(bootstrap, args.timeout_s, ctx.cancel, container)
    return _ready(ctx, bootstrap, "started", container, started, image_of(container))


def _utc_stamp(offset_s: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


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
                check_alive(container, cancel)
                probe_api_versions(bootstrap, timeout_s=min(3.0, timeout_s))
    except OSError as exc:
        logs = container_logs(container) if container is not None else ""
        where = f"\nLast container log lines:\n{logs}" if logs else ""
        raise ToolError(
            f"Kafka on {bootstrap} did not answer ApiVersions within {timeout_s:g} s "
            f"(last error: {exc}).{where}"
        ) from exc


START_KAFKA_TOOL = Tool.from_function(start_kafka, long_running=True)
