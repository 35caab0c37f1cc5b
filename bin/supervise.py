"""Keep background processes running: start each command, start it again when it exits.

    .venv/bin/python bin/supervise.py NAME='COMMAND ...' [NAME='COMMAND ...' ...]

`bin/start` runs the Celery worker and beat under it. A child that exits (crash, SIGKILL, out of
memory) is started again after a pause that doubles from 1 s up to 60 s while it keeps dying
young, and goes back to 1 s once it has run a minute. Each start and exit is one log line
(`event=process.started` / `event=process.exited` with the name, pid and exit code).

SIGTERM or SIGINT stops every child at once (SIGTERM to each process group, SIGKILL to what is
left after `--stop-timeout`, 20 s by default) and then the supervisor, so the whole stop takes
no longer than that however many children there are. Each child runs in a process group of its
own, so a stop reaches its pool processes too.
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

    def ask_to_stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stopped_by(self, deadline: float) -> None:
        """Wait for the child until `deadline`, then kill what is left of its group."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def parse(specs: list[str]) -> list[Child]:
    children = []
    for spec in specs:
        name, sep, command = spec.partition("=")
        if not sep or not name or not command.strip():
            raise SystemExit(f"expected NAME='COMMAND ...', got {spec!r}")
        children.append(Child(name=name, command=shlex.split(command)))
    return children


def supervise(children: list[Child], stop_timeout: float = STOP_TIMEOUT_SECONDS) -> None:
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
    # All at once: a slow one (a worker finishing its batch) must not hold the others up.
    for child in children:
        child.ask_to_stop()
    deadline = time.monotonic() + stop_timeout
    for child in children:
        child.stopped_by(deadline)
    log("supervisor.stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("children", nargs="+", metavar="NAME='COMMAND ...'")
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=STOP_TIMEOUT_SECONDS,
        help="seconds the children get to stop before they are killed",
    )
    args = parser.parse_args()
    supervise(parse(args.children), stop_timeout=args.stop_timeout)


if __name__ == "__main__":
    main()
