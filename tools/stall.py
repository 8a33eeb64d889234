"""Telling a stalled stress run from a busy one while it is traced.

The stress tool prints a Progress line with its message count every few seconds (Dekaf: ~10 s,
FlushLab: 2 s). A count that comes back unchanged means no message went through for a whole
interval: the run is stalled (a deadlock, an await that never completes, a starved pool), not
slow. The tool's own watchdog (`PROGRESS WATCHDOG:` on stderr) says the same after longer.
On a stall, every thread's stack is taken while the tool still hangs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.analysis.hang_models import StallInfo
from tools.base import ToolContext
from tools.errors import ToolError
from tools.hang_context import STALL_STATE_KEY
from tools.process import RunningProcess
from tools.stack_snapshot import take_snapshot
from tools.stacks.model import Snapshot
from tools.stress_output import StressOutput


@dataclass
class StallWatch:
    """Follows the Progress lines of one trace window; times are ``time.monotonic()`` seconds.

    Attributes:
        started: when the trace window began.
    """

    started: float
    _seen: int = 0
    _count: int | None = None
    _reported_at: float | None = None
    _stalled_since: float | None = None
    _lines: list[int] = field(default_factory=list)

    def observe(self, output: StressOutput, now: float) -> None:
        """Takes the Progress lines that arrived since the last call."""
        for line in output.progress[self._seen :]:
            if line.messages != self._count:
                self._count, self._reported_at, self._stalled_since = line.messages, now, None
            elif self._stalled_since is None:
                self._stalled_since = self._reported_at
        self._seen = len(output.progress)

    def stall(self, output: StressOutput, now: float) -> StallInfo:
        """Whether progress had stopped by ``now``, since when and at which count."""
        if self._stalled_since is not None:
            since = self._stalled_since
            return StallInfo(
                detected=True,
                since_s=round(max(since - self.started, 0.0), 1),
                stalled_for_s=round(now - since, 1),
                last_count=self._count,
                source="progress",
                detail=f"the Progress count stayed at {self._count:,} messages for "
                f"{now - since:.1f} s of the trace window",
            )
        if output.watchdog:
            return StallInfo(
                detected=True, last_count=self._count, source="watchdog", detail=output.watchdog[0]
            )
        return StallInfo(detected=False, last_count=self._count)


def snapshot_if_stalled(
    stall: StallInfo, stress: RunningProcess, ctx: ToolContext, notes: list[str]
) -> Snapshot | None:
    """On a stall, every thread's stack while the stress tool still hangs (before we stop it):
    the one view that shows which threads block where. analyze_trace reads both from the state.
    """
    ctx.state[STALL_STATE_KEY] = stall
    if not stall.detected or stress.poll() is not None:
        return None
    notes.append(f"progress stalled: {stall.detail}; took a stack snapshot before stopping it")
    try:
        return take_snapshot(stress.pid, ctx)
    except ToolError as exc:
        notes.append(f"the stack snapshot could not be taken: {exc}")
        return None
