"""start_kafka's decisions and the ApiVersions readiness check, against a fake Docker client and
a real socket; a real-Docker test runs only where a daemon answers."""

from __future__ import annotations

import argparse
import gc
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.commands import kafka as kafka_command
from tools.errors import ToolError
from tools.kafka import OUR_LABEL, StartKafkaArgs, start_kafka, stop_our_kafka, wait_ready
from tools.kafka_protocol import broker_answers as answers
from tools.kafka_protocol import (
    decode_api_versions_response,
    encode_api_versions_request,
    probe_api_versions,
)


def test_api_versions_exchange_with_a_broker_stub(kafka_stub: Callable[..., Any]) -> None:
    """A real socket exchange: the request is ApiVersions (key 18) and the reply is decoded."""
    stub = kafka_stub()
    reply = probe_api_versions(stub.bootstrap)
    assert reply.error_code == 0 and reply.api_count == 3
    assert stub.requests == [18]


def test_an_open_port_that_is_not_kafka_is_not_ready(kafka_stub: Callable[..., Any]) -> None:
    """A listener that accepts and closes (a proxy before Kafka is up) is not a ready broker."""
    stub = kafka_stub(ready=lambda: False)
    assert not answers(stub.bootstrap, timeout_s=1)


def test_a_wrong_correlation_id_is_rejected() -> None:
    """A reply to someone else's request does not count as an answer."""
    request = encode_api_versions_request(41)
    assert request[4:6] == b"\x00\x12"  # api key 18 after the size prefix
    with pytest.raises(OSError, match="correlation"):
        decode_api_versions_response(b"\x00\x00\x00\x2a" + b"\x00" * 6, 41)


def test_existing_broker_is_reused_without_docker(
    repo: Path, kafka_stub: Callable[..., Any], make_ctx: Callable[..., Any]
) -> None:
    """A broker already answering: how=existing, no Docker needed, bootstrap left for later."""
    stub = kafka_stub()
    ctx = make_ctx(repo)
    result = start_kafka(StartKafkaArgs(bootstrap=stub.bootstrap), ctx)
    assert result.how == "existing" and result.container_id is None
    assert ctx.state["bootstrap"] == stub.bootstrap


def test_environment_bootstrap_is_the_default(
    repo: Path,
    kafka_stub: Callable[..., Any],
    make_ctx: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KAFKA_BOOTSTRAP_SERVERS overrides localhost:9092 when no address is given."""
    stub = kafka_stub()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stub.bootstrap)
    assert start_kafka(StartKafkaArgs(), make_ctx(repo)).bootstrap == stub.bootstrap


def test_running_kafka_container_is_reused_on_its_published_port(
    repo: Path,
    kafka_stub: Callable[..., Any],
    make_ctx: Callable[..., Any],
    fake_docker: Any,
    make_container: Any,
) -> None:
    """A running cp-kafka container publishing 9092 on another port: reused, not restarted."""
    stub = kafka_stub()
    port = stub.server_address[1]
    fake_docker.containers_.append(
        make_container(
            name="dekaf-local-kafka",
            image="confluentinc/cp-kafka:7.5.0",
            ports={"9092/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]},
        )
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # nothing answers on the requested address
    address = f"127.0.0.1:{closed.getsockname()[1]}"
    result = start_kafka(StartKafkaArgs(bootstrap=address), make_ctx(repo, fake_docker))
    closed.close()
    assert result.how == "container" and result.bootstrap == f"127.0.0.1:{port}"
    assert result.detail == "dekaf-local-kafka"
    assert fake_docker.run_calls == []


def test_repository_script_starts_kafka_when_the_config_asks(
    repo: Path,
    fakes: Any,
    kafka_stub: Callable[..., Any],
    make_ctx: Callable[..., Any],
    fake_docker: Any,
) -> None:
    """kafka_start = "script": the repo's start-kafka.sh runs (bash), then ApiVersions answers."""
    (repo / ".perf-trace-analyzer.toml").write_text('kafka_start = "script"\n')
    fakes.add("bash", "bash")
    marker = repo / "kafka-started"
    (repo / "start-kafka.sh").write_text(f"#!/bin/bash\necho starting\n: > {marker}\n")
    stub = kafka_stub(ready=marker.exists)
    result = start_kafka(StartKafkaArgs(bootstrap=stub.bootstrap), make_ctx(repo, fake_docker))
    assert result.how == "script" and result.detail == "start-kafka.sh"
    assert fake_docker.run_calls == []


CP_KAFKA_CLUSTER_ID_FAILURE = (
    b"===> Running preflight checks ...\n===> Check if Kafka can be started ...\n"
    b"Cluster ID string dekaf-local-cluster does not appear to be a valid UUID: Input string "
    b"`dekaf-local-cluster` decoded as 14 bytes, which is not equal to the expected 16 bytes "
    b"of a base64-encoded UUID\n"
)
"""What Kafka's storage format step says about Dekaf start-kafka.sh's CLUSTER_ID (KRaft wants a
base64 UUID: StorageTool's "Cluster ID string … does not appear to be a valid UUID")."""


def test_a_broker_container_from_the_script_that_exits_is_reported_at_once(
    repo: Path,
    fakes: Any,
    make_ctx: Callable[..., Any],
    fake_docker: Any,
    make_container: Any,
) -> None:
    """Dekaf's start-kafka.sh: `docker run -d` returns 0, the cp-kafka container exits at once.
    start_kafka finds that container and reports its logs, not a 120 s timeout."""
    (repo / ".perf-trace-analyzer.toml").write_text('kafka_start = "script"\n')
    fakes.add("bash", "bash")
    marker = repo / "kafka-started"
    (repo / "start-kafka.sh").write_text(f"#!/bin/bash\necho started\n: > {marker}\n")
    broker = make_container(
        name="dekaf-local-kafka",
        image="confluentinc/cp-kafka:7.5.0",
        status="exited",
        log_text=CP_KAFKA_CLUSTER_ID_FAILURE,
    )

    def script_ran(docker: Any) -> None:
        if marker.exists() and broker not in docker.containers_:
            docker.containers_.append(broker)

    fake_docker.on_list = script_ran
    started = time.monotonic()
    with pytest.raises(ToolError, match="(?s)dekaf-local-kafka.*exited while starting") as caught:
        start_kafka(
            StartKafkaArgs(bootstrap=f"127.0.0.1:{_closed_port()}", timeout_s=120),
            make_ctx(repo, fake_docker),
        )
    assert time.monotonic() - started < 10
    assert "does not appear to be a valid UUID" in str(caught.value)


def test_dekaf_default_is_the_docker_sdk_even_with_a_start_script(
    repo: Path, kafka_stub: Callable[..., Any], make_ctx: Callable[..., Any], fake_docker: Any
) -> None:
    """By default start-kafka.sh is left alone: apache/kafka runs with the SDK instead."""
    (repo / "start-kafka.sh").write_text("#!/bin/bash\nexit 1\n")
    started = threading.Event()
    stub = kafka_stub(ready=started.is_set)
    fake_docker.images_present.add("apache/kafka:4.3.1")
    fake_docker.on_run = lambda container: started.set()
    result = start_kafka(StartKafkaArgs(bootstrap=stub.bootstrap), make_ctx(repo, fake_docker))
    assert result.how == "started" and fake_docker.run_calls[0]["image"] == "apache/kafka:4.3.1"


def test_our_broker_keeps_its_disk_and_heap_bounded_like_dekafs(
    repo: Path, kafka_stub: Callable[..., Any], make_ctx: Callable[..., Any], fake_docker: Any
) -> None:
    """Dekaf's broker settings (KafkaEnvironment.cs:80-98): 64 MB retention per partition,
    16 MB segments, a 500 ms sweep from the first second, a 2 GB heap."""
    started = threading.Event()
    stub = kafka_stub(ready=started.is_set)
    fake_docker.on_run = lambda container: started.set()
    start_kafka(StartKafkaArgs(bootstrap=stub.bootstrap), make_ctx(repo, fake_docker))
    env = fake_docker.run_calls[0]["environment"]
    assert env["KAFKA_LOG_RETENTION_BYTES"] == "67108864"
    assert env["KAFKA_LOG_SEGMENT_BYTES"] == "16777216"
    assert env["KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS"] == "500"
    assert env["KAFKA_LOG_INITIAL_TASK_DELAY_MS"] == "1000"
    assert env["KAFKA_HEAP_OPTS"] == "-Xmx2g -Xms2g"
    assert env["CLUSTER_ID"] == "MkU3OEVBNTcwNTJENDM2Qg"


def test_docker_sdk_pulls_and_runs_apache_kafka_labelled_as_ours(
    repo: Path, kafka_stub: Callable[..., Any], make_ctx: Callable[..., Any], fake_docker: Any
) -> None:
    """Last resort: pull apache/kafka:<tag>, run it KRaft on the port, labelled, then ready."""
    started = threading.Event()
    stub = kafka_stub(ready=started.is_set)
    port = stub.server_address[1]
    fake_docker.on_run = lambda container: started.set()
    result = start_kafka(
        StartKafkaArgs(bootstrap=stub.bootstrap, image_tag="4.1.0"), make_ctx(repo, fake_docker)
    )
    assert result.how == "started" and result.container_id == ("feedbeef" * 4)[:12]
    assert fake_docker.pulls == [("apache/kafka", "4.1.0")]
    run = fake_docker.run_calls[0]
    assert run["image"] == "apache/kafka:4.1.0" and run["detach"] is True
    assert OUR_LABEL in run["labels"] and run["ports"] == {"9092/tcp": port}
    assert run["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert run["environment"]["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://localhost:{port}"


def test_docker_not_running_says_how_to_start_it(
    repo: Path, make_ctx: Callable[..., Any], fake_docker: Any
) -> None:
    """Daemon down and no broker: an error naming Docker and how to start it."""
    fake_docker.running = False
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ToolError, match="Docker is not running") as caught:
        start_kafka(StartKafkaArgs(bootstrap=address), make_ctx(repo, fake_docker))
    assert "systemctl start docker" in str(caught.value)


def test_pull_failure_carries_the_registry_message(
    repo: Path, make_ctx: Callable[..., Any], fake_docker: Any
) -> None:
    """The registry's own explanation reaches the model."""
    fake_docker.pull_error = "manifest for apache/kafka:9.9.9 not found: manifest unknown"
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ToolError, match="manifest unknown"):
        start_kafka(
            StartKafkaArgs(bootstrap=address, image_tag="9.9.9"), make_ctx(repo, fake_docker)
        )


def test_not_ready_by_the_deadline_shows_the_container_logs(make_container: Any) -> None:
    """Readiness timeout: the error carries the container's last log lines."""
    container = make_container(
        name="pta-kafka-9092", image="apache/kafka:4.3.1", log_text=b"line 1\nFATAL disk full\n"
    )
    with pytest.raises(ToolError, match="did not answer ApiVersions") as caught:
        wait_ready(f"127.0.0.1:{_closed_port()}", 1.0, threading.Event(), container)
    assert "FATAL disk full" in str(caught.value)


def test_container_that_exits_while_starting_fails_fast(make_container: Any) -> None:
    """An exited container is reported with its logs instead of waiting for the deadline."""
    container = make_container(
        name="pta-kafka-9092", image="apache/kafka", status="exited", log_text=b"bad config\n"
    )
    with pytest.raises(ToolError, match="(?s)exited while starting.*bad config"):
        wait_ready(f"127.0.0.1:{_closed_port()}", 30.0, threading.Event(), container)


def test_stop_removes_only_our_containers(fake_docker: Any, make_container: Any) -> None:
    """`pta kafka stop` never touches a container we did not start."""
    ours = make_container(name="pta-kafka-9092", image="apache/kafka", labels={OUR_LABEL: "1"})
    theirs = make_container(name="dekaf-local-kafka", image="confluentinc/cp-kafka:7.5.0")
    fake_docker.containers_ += [ours, theirs]
    assert stop_our_kafka(fake_docker) == ["pta-kafka-9092"]
    assert ours.removed and not theirs.removed


def test_pta_kafka_stop_command(
    repo: Path,
    fake_docker: Any,
    make_container: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI removes ours and says so; exit status 0."""
    fake_docker.containers_.append(
        make_container(name="pta-kafka-9092", image="apache/kafka", labels={OUR_LABEL: "1"})
    )
    monkeypatch.setattr(kafka_command, "docker_from_env", lambda: fake_docker)
    status = kafka_command.run_stop(argparse.Namespace(repo=repo))
    assert status == 0 and "removed pta-kafka-9092" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def real_docker() -> Iterator[Any]:
    """A Docker client for a daemon that answers; the test is skipped without one."""
    import docker

    client, reason = None, ""
    try:
        client = docker.from_env(timeout=3)
        client.ping()
    except docker.errors.DockerException as exc:
        reason = str(exc)
    if reason:
        if client is not None:
            client.close()
        with warnings.catch_warnings():  # a failed client leaves its socket to the GC
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        pytest.skip(f"no Docker daemon answers here: {reason}")
    yield client
    client.close()


def test_real_docker_starts_and_stops_apache_kafka(
    repo: Path, make_ctx: Callable[..., Any], real_docker: Any
) -> None:
    """With a real daemon: start apache/kafka, ApiVersions answers, `stop` removes it."""
    port = _closed_port()
    ctx = make_ctx(repo)
    ctx.docker_factory = lambda: real_docker
    try:
        result = start_kafka(StartKafkaArgs(bootstrap=f"localhost:{port}", timeout_s=180), ctx)
        assert result.how in ("started", "container")
        assert probe_api_versions(result.bootstrap).api_count > 0
    finally:
        stop_our_kafka(real_docker)


def test_a_target_without_kafka_needs_no_broker(
    repo: Path, make_ctx: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """needs_kafka = false: start_kafka answers not-needed without asking Docker or a port."""
    (repo / ".perf-trace-analyzer.toml").write_text("needs_kafka = false\n")
    ctx = make_ctx(repo)
    ctx.docker_factory = lambda: pytest.fail("Docker must not be asked")
    result = start_kafka(StartKafkaArgs(), ctx)
    assert result.how == "not-needed" and result.bootstrap == ""
    assert "needs_kafka = false" in result.detail
    assert "bootstrap" not in ctx.state
