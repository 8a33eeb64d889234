"""`pta mcp` over stdio running the real `build` tool on a slow fake `dotnet`: progress
notifications keep arriving while it runs, and an MCP cancellation kills the build process."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_build_reports_progress_and_dies_on_cancel(repo: Path, fakes: Any) -> None:
    """A 60 s fake build: its start and heartbeats arrive; cancelling kills `dotnet build`."""
    pta = Path(sys.executable).parent / "pta"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "PTA_FAKE_ARGV_LOG": str(fakes.argv_log),
        "PTA_FAKE_TIME_SCALE": "30",  # the fake build's 2 s become 60 s
    }
    params = StdioServerParameters(
        command=str(pta), args=["mcp", "--repo", str(repo), "--heartbeat", "0.3"], env=env
    )
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async def body(client: Client) -> None:
        with anyio.move_on_after(4) as scope:
            await client.call_tool("build", {}, progress_callback=on_progress)
        assert scope.cancelled_caught, "the fake build should still be running"
        [call] = [c for c in fakes.calls("dotnet") if c["argv"][:1] == ["build"]]
        for _ in range(100):  # the runner sends SIGTERM to the group at once
            if not _alive(call["pid"]):
                break
            await anyio.sleep(0.1)
        assert not _alive(call["pid"])
        after = await client.call_tool("read_memory", {})
        assert not after.is_error  # the server lives on after a cancelled call

    async def main() -> None:
        async with Client(params) as client:
            await body(client)

    anyio.run(main)
    assert any(m.startswith("dotnet build Dekaf.StressTests") for m in messages)
    assert sum("build running for" in m for m in messages) >= 2
