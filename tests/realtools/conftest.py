"""Fixtures for the real-world tools: fake dotnet/dotnet-trace/stress on PATH, a fixture repo,
a fake Docker client and a tiny Kafka broker stub that speaks ApiVersions on a real socket."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from tools.base import ToolContext
from tools.dotnet_trace import ensure_dotnet_trace, find_dotnet_trace

FAKES = Path(__file__).resolve().parents[1] / "fakes"
FAKE_TRACE = "filtrace-net10-wait.nettrace"
STRESS_PROJECT = "tools/Dekaf.StressTests"
FAST_CONFIG = "marker_timeout_s = 10\ncollect_grace_s = 5\n"
REAL_GLOBAL_TOOLS = Path.home() / ".dotnet" / "tools"
"""Where `dotnet tool install --global` put the real dotnet-trace (read before tests move HOME)."""


@dataclass
class Fakes:
    """The fake executables on PATH and what they recorded."""

    bin_dir: Path
    argv_log: Path
    trace: Path

    def calls(self, program: str) -> list[dict[str, Any]]:
        """Every recorded invocation of ``program`` (dotnet, dotnet-trace, stress)."""
        if not self.argv_log.exists():
            return []
        records = [json.loads(line) for line in self.argv_log.read_text().splitlines()]
        return [r for r in records if r["program"] == program]

    def remove(self, name: str) -> None:
        """Takes ``name`` off PATH (a machine without it)."""
        (self.bin_dir / name).unlink()

    def add(self, name: str, target: str) -> None:
        """Puts a real executable (e.g. bash) on the restricted PATH."""
        found = shutil.which(target, path="/usr/local/bin:/usr/bin:/bin")
        assert found is not None, target
        (self.bin_dir / name).symlink_to(found)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, traces_dir: Path) -> Fakes:
    """PATH = the fakes + this venv's python; real durations scaled down 50x."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "dotnet").symlink_to(FAKES / "fake_dotnet.py")
    (bin_dir / "dotnet-trace").symlink_to(FAKES / "fake_dotnet_trace.py")
    trace = tmp_path / "source-trace.nettrace"
    shutil.copyfile(traces_dir / FAKE_TRACE, trace)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    monkeypatch.setenv("PTA_FAKE_ARGV_LOG", str(tmp_path / "argv.jsonl"))
    monkeypatch.setenv("PTA_FAKE_TRACE", str(trace))
    monkeypatch.setenv("PTA_FAKE_TIME_SCALE", "0.02")
    monkeypatch.setenv("PTA_FAKE_PROGRESS_S", "0.05")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    return Fakes(bin_dir, tmp_path / "argv.jsonl", trace)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A target repository with the stress project (not built) and fast timeouts."""
    root = tmp_path / "repo"
    project = root / STRESS_PROJECT
    project.mkdir(parents=True)
    (project / "Dekaf.StressTests.csproj").write_text('<Project Sdk="Microsoft.NET.Sdk" />\n')
    (root / ".perf-trace-analyzer.toml").write_text(FAST_CONFIG)
    return root


@pytest.fixture
def built_repo(repo: Path) -> Path:
    """The fixture repository with the stress executable where `dotnet build` puts it."""
    exe = repo / STRESS_PROJECT / "bin" / "Release" / "net10.0" / "Dekaf.StressTests"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(FAKES / "fake_stress.py")
    return repo


# --- a Kafka broker stub: answers ApiVersions v0 once `ready()` is true -------------------


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: KafkaStub = self.server  # type: ignore[assignment]
        if not server.ready():
            return  # a port that accepts and closes: open, but not a broker
        header = self.request.recv(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack(">i", header)
        body = b""
        while len(body) < size:
            chunk = self.request.recv(size - len(body))
            if not chunk:
                return
            body += chunk
        api_key, _version, correlation = struct.unpack_from(">hhi", body)
        server.requests.append(api_key)
        apis = [(0, 0, 11), (3, 0, 12), (18, 0, 4)]
        reply = struct.pack(">ihi", correlation, 0, len(apis))
        reply += b"".join(struct.pack(">hhh", *api) for api in apis)
        self.request.sendall(struct.pack(">i", len(reply)) + reply)


class KafkaStub(socketserver.ThreadingTCPServer):
    """A real TCP server on 127.0.0.1 (ephemeral port) speaking the ApiVersions exchange."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ready: Callable[[], bool]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ready = ready
        self.requests: list[int] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def kafka_stub() -> Iterator[Callable[..., KafkaStub]]:
    """Starts stubs on demand: ``kafka_stub(ready=lambda: True)``; all shut down after."""
    started: list[KafkaStub] = []

    def start(ready: Callable[[], bool] = lambda: True) -> KafkaStub:
        stub = KafkaStub(ready)
        threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True).start()
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.shutdown()
        stub.server_close()


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- a fake Docker SDK client -------------------------------------------------------------


@dataclass
class FakeContainer:
    """The parts of docker.models.containers.Container the tools use."""

    name: str
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    log_text: bytes = b""
    id: str = "0123456789abcdef0123"
    removed: bool = False
    created: str = field(  # Docker's shape: "2026-08-26T10:15:00.123456789Z" (UTC)
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%f000Z"
        )
    )

    @property
    def attrs(self) -> dict[str, Any]:
        return {"Config": {"Image": self.image}, "Created": self.created}

    def logs(self, tail: int = 10) -> bytes:
        return b"\n".join(self.log_text.splitlines()[-tail:])

    def reload(self) -> None:
        if self.removed:
            raise docker.errors.NotFound("gone")

    def remove(self, force: bool = False) -> None:
        self.removed = True


@dataclass
class FakeDocker:
    """A Docker client double: containers, images, ping; records every run()."""

    containers_: list[FakeContainer] = field(default_factory=list)
    images_present: set[str] = field(default_factory=set)
    pull_error: str | None = None
    running: bool = True
    on_run: Callable[[FakeContainer], None] | None = None
    on_list: Callable[[FakeDocker], None] | None = None
    run_calls: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[tuple[str, str]] = field(default_factory=list)

    def ping(self) -> bool:
        if not self.running:
            raise docker.errors.DockerException(
                "Error while fetching server API version: Connection refused"
            )
        return True

    def version(self) -> dict[str, str]:
        return {"Version": "27.3.1"}

    @property
    def containers(self) -> FakeDocker:
        return self

    @property
    def images(self) -> FakeDocker:
        return self

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[FakeContainer]:  # noqa: A002
        if self.on_list is not None:
            self.on_list(self)
        found = [c for c in self.containers_ if not c.removed and (all or c.status == "running")]
        if filters and "label" in filters:
            found = [c for c in found if filters["label"] in c.labels]
        return found

    def get(self, name: str) -> object:
        if name not in self.images_present:
            raise docker.errors.ImageNotFound(f"No such image: {name}")
        return object()

    def pull(self, repository: str, tag: str | None = None) -> object:
        self.pulls.append((repository, tag or "latest"))
        if self.pull_error:
            raise docker.errors.APIError("pull failed", explanation=self.pull_error)
        self.images_present.add(f"{repository}:{tag}")
        return object()

    def run(self, image: str, **kwargs: Any) -> FakeContainer:
        self.run_calls.append({"image": image, **kwargs})
        container = FakeContainer(
            name=kwargs["name"], image=image, labels=kwargs.get("labels", {}), id="feedbeef" * 4
        )
        self.containers_.append(container)
        if self.on_run is not None:
            self.on_run(container)
        return container


@pytest.fixture
def fake_docker() -> FakeDocker:
    """A running fake Docker daemon with no containers and no images."""
    return FakeDocker()


@pytest.fixture
def make_container() -> type[FakeContainer]:
    """The fake container class, to place containers in ``fake_docker.containers_``."""
    return FakeContainer


@pytest.fixture
def make_ctx() -> Callable[..., ToolContext]:
    """``make_ctx(repo, docker=None, **state)``: a ToolContext over the real process runner."""

    def make(repo: Path, docker: FakeDocker | None = None, **state: Any) -> ToolContext:
        factory = (lambda: docker) if docker is not None else None
        return ToolContext(repo=repo, docker_factory=factory, state=dict(state))

    return make


# --- the real dotnet-trace ------------------------------------------------------------------


@pytest.fixture
def real_dotnet_trace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The real dotnet-trace on PATH; installed the product's way when missing.

    Skipped only on a machine without `dotnet` (where it cannot run at all).
    """
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        pytest.skip("no `dotnet` on PATH: the real dotnet-trace cannot run here")
    path = os.pathsep.join([str(REAL_GLOBAL_TOOLS), os.path.dirname(dotnet), os.environ["PATH"]])
    monkeypatch.setenv("PATH", path)
    found = find_dotnet_trace()
    if found is None:
        found = ensure_dotnet_trace(ToolContext(repo=tmp_path), [])
    assert not Path(found).resolve().is_relative_to(FAKES), found
    return found
