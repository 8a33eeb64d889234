"""Where dotnet-trace report/convert may leave their scratch files: under the run's work folder.

TraceEvent turns a trace into `<trace>.etlx` beside the file it is given (dotnet-trace 10.0.750501
wrote `x.nettrace.etlx`): `report` never deletes it (dotnet/diagnostics ReportCommand.cs:44) and
`convert` deletes it only when the conversion succeeded (TraceFileFormatConverter.cs:72,
101-104). dotnet-trace is therefore handed a symlink to the trace inside a scratch folder of its
own, which is removed afterwards: nothing lands beside the user's trace (which may sit in a
read-only or foreign folder), and nothing is left behind.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRATCH_SUBDIR = "scratch"


@contextmanager
def scratch_trace(work_dir: Path, trace: Path) -> Iterator[Path]:
    """A path to ``trace`` inside a fresh scratch folder, removed with all it holds on exit."""
    folder = work_dir / SCRATCH_SUBDIR / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    link = folder / trace.name
    try:
        try:
            link.symlink_to(trace.resolve())
        except OSError:  # a filesystem without symlinks
            shutil.copyfile(trace, link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)
