"""Keep background processes running: start each command, start it again when it exits.

    .venv/bin/python bin/supervise.py NAME='COMMAND ...' [NAME='COMMAND ...' ...]

`bin/start` runs the Celery worker and beat under it. A child that exits (crash, SIGKILL, out of
memory) is started again after a pause that doubles from 1 s up to 60 s while it keeps dying
young, and goes back to 1 s once it has run a minute. Each start and exit is one log line
(`event=process.started` / `event=process.exited` with the name, pid and exit code).

SIGTERM or SIGINT stops every child (SIGTERM to its process group, SIGKILL after 20 s) and then
the supervisor. Each child runs in a process group of its own, so a stop reaches its pool
processes too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 60.0
HEALTHY_AFTER_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


def log(event: str, **fields: object) -> None:
    values = " ".join(f"{key}={value}" for key, value in fields.items())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp} supervise event={event} {values}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    pause: float = FIRST_PAUSE_SECONDS
    restart_at: float = 0.0
    restarts: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, start_new_session=True)
        self.started_at = time.monotonic()
        log("process.started", name=self.name, pid=self.process.pid, restarts=self.restarts)

    def reap(self, now: float) -> None:
        """Note an exit and plan the next start."""
        if self.process is None or self.process.poll() is None:
            return
        lived = now - self.started_at
        # What the child left in its group (a killed Celery worker's pool processes) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if lived >= HEALTHY_AFTER_SECONDS:
            self.pause = FIRST_PAUSE_SECONDS
        log(
            "process.exited",
            name=self.name,
            pid=self.process.pid,
            code=self.process.returncode,
            lived_seconds=round(lived, 1),
            restart_in_seconds=self.pause,
        )
        self.process = None
        self.restart_at = now + self.pause
        self.pause = min(self.pause * 2, LONGEST_PAUSE_SECONDS)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


def parse(specs: list[str]) -> list[Child]:
    children = []
    for spec in specs:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command.strip():
            raise SystemExit(f"expected NAME='COMMAND ...', got {spec!r}")
        children.append(Child(name=name, command=shlex.split(command)))
    return children


def supervise(children: list[Child]) -> None:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.start()
    while not stopping:
        now = time.monotonic()
        for child in children:
            child.reap(now)
            if child.process is None and now >= child.restart_at and not stopping:
                child.restarts += 1
                child.start()
        time.sleep(0.2)
    for child in children:
        child.stop()
    log("supervisor.stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("children", nargs="+", metavar="NAME='COMMAND ...'")
    supervise(parse(parser.parse_args().children))


if __name__ == "__main__":
    main()
