"""The installed `mendbot` command.

It first asks the run cache (`bot.faces.runcache`, standard library only) whether this exact
run is recorded with nothing it reads changed since: then the recorded output is replayed
without importing the engine, pydantic, rich or the model runtime. Otherwise the CLI runs,
wired by the composition root (`workers.commands`), and its output is recorded when it may be
replayed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.faces import runcache


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (`argv` None: the process's own, the only case that uses the run cache;
    a caller passing arguments, such as a test, always runs the CLI)."""
    from_process = argv is None
    args = list(sys.argv[1:] if argv is None else argv)
    replayed = runcache.replay(args) if from_process else None
    if replayed is not None:
        return replayed
    recording = runcache.start(args) if from_process else None
    from workers.commands import run

    code = 2
    try:
        code = run(args)
    finally:
        if recording is not None:
            recording.finish(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
