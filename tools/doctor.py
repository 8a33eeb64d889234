"""Prerequisite checks for `pta doctor`: one line each, with the fix when something is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from tools.dotnet_trace import INSTALL_ARGV, find_dotnet_trace, tool_env
from tools.errors import ToolError
from tools.kafka import DOCKER_HINT
from tools.kafka_protocol import broker_answers
from tools.process import INSTALL_HINTS, ProcessRunner, run_process
from tools.target_config import CONFIG_FILE_NAME, TargetConfig, load_target_config

VERSION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Check:
    """One prerequisite: whether it is met, what was found, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``[ok] name: detail`` or ``[FAIL] name: detail. Fix: …``."""
        if self.ok:
            return f"[ok]   {self.name}: {self.detail}"
        return f"[FAIL] {self.name}: {self.detail}. Fix: {self.fix}"


def _version(argv: list[str], repo: Path, runner: ProcessRunner) -> str:
    result = runner(argv, cwd=repo, timeout=VERSION_TIMEOUT_S, env=tool_env())
    first = (result.output_tail.strip().splitlines() or ["(no output)"])[-1]
    return first if result.ok else f"exited {result.exit_code}: {first}"


def check_dotnet(repo: Path, runner: ProcessRunner) -> Check:
    """The .NET SDK answers `dotnet --version`."""
    try:
        return Check("dotnet", True, _version(["dotnet", "--version"], repo, runner))
    except ToolError:
        return Check("dotnet", False, "not found on PATH", INSTALL_HINTS["dotnet"])


def check_dotnet_trace(repo: Path, runner: ProcessRunner) -> Check:
    """dotnet-trace is on PATH or in ~/.dotnet/tools."""
    path = find_dotnet_trace()
    if path is None:
        return Check("dotnet-trace", False, "not installed", f"`{' '.join(INSTALL_ARGV)}`")
    return Check("dotnet-trace", True, f"{_version([path, '--version'], repo, runner)} ({path})")


def check_docker(factory: Callable[[], Any] | None) -> Check:
    """The Docker daemon answers a ping."""
    if factory is None:
        return Check("docker", False, "no Docker client configured", DOCKER_HINT)
    try:
        client = factory()
        client.ping()
        version = client.version().get("Version", "?")
    except docker.errors.DockerException as exc:
        return Check("docker", False, f"daemon not reachable ({exc})", DOCKER_HINT)
    return Check("docker", True, f"daemon answers (Engine {version})")


def check_broker(config: TargetConfig, docker_ok: bool) -> Check:
    """A broker answers ApiVersions, or Docker is there so start_kafka can start one."""
    bootstrap = config.bootstrap_address()
    if broker_answers(bootstrap):
        return Check("kafka", True, f"broker answers ApiVersions on {bootstrap}")
    if docker_ok:
        return Check("kafka", True, f"no broker on {bootstrap}; start_kafka will start one")
    return Check(
        "kafka",
        False,
        f"no broker on {bootstrap} and no Docker to start one",
        "start Docker, or start Kafka yourself and set KAFKA_BOOTSTRAP_SERVERS",
    )


def check_stress(repo: Path, config: TargetConfig) -> list[Check]:
    """The stress project exists, and whether it is built."""
    project = config.project_dir(repo)
    if not project.exists():
        return [
            Check(
                "stress project",
                False,
                f"{project} not found",
                f"pass --repo <Dekaf checkout> or set stress_project in {CONFIG_FILE_NAME}",
            )
        ]
    executable = config.executable_path(repo)
    built = executable.is_file()
    fix = f"`dotnet build {config.stress_project} -c Release` (or let the build tool do it)"
    return [
        Check("stress project", True, str(project)),
        Check("stress build", built, str(executable) if built else "not built yet", fix),
    ]


def run_checks(
    repo: Path, *, docker_factory: Callable[[], Any] | None, runner: ProcessRunner = run_process
) -> list[Check]:
    """Every prerequisite of a trace run, in the order the workflow needs them."""
    try:
        config = load_target_config(repo)
        checks = [Check("target config", True, _config_detail(repo))]
    except ToolError as exc:
        config = TargetConfig()
        checks = [Check("target config", False, str(exc), f"fix {CONFIG_FILE_NAME}")]
    docker_check = check_docker(docker_factory)
    checks += [check_dotnet(repo, runner), check_dotnet_trace(repo, runner), docker_check]
    checks.append(check_broker(config, docker_check.ok))
    checks += check_stress(repo, config)
    return checks


def _config_detail(repo: Path) -> str:
    path = repo / CONFIG_FILE_NAME
    return str(path) if path.is_file() else "no config file; Dekaf defaults"
