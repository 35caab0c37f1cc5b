"""Benchmark of the embedded brokers: how fast one worker drains a burst of tasks, and whether it
survives it.

    .venv/bin/python bench/broker.py [--tasks 3000] [--publishers 4] [--brokers files,kombu,sqla]

Brokers: `files` is the project's embedded broker (statuspage/broker.py, what `filesystem://`
means here), `kombu` is kombu's own file transport, `sqla` is kombu's SQLAlchemy transport on an
SQLite file (needs SQLAlchemy importable). For each one, in a fresh temporary folder: a worker
(prefork, one process) is started and warmed up, then `--publishers` processes publish
`--tasks` no-op tasks between them as fast as they can while the worker consumes. It prints
the publish rate, the seconds from the first publish to the last task done, tasks done per
second, and whether the worker survived and every task ran exactly once.

Run as `celery -A bench.broker worker`, this module is also the worker (BENCH_BROKER and
BENCH_FOLDER say which broker and where).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kombu.transport
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BROKER = os.environ.get("BENCH_BROKER", "files")
FOLDER = Path(os.environ.get("BENCH_FOLDER", tempfile.gettempdir()))


def _broker_config(broker: str, folder: Path) -> tuple[str, dict[str, object]]:
    if broker == "files":
        kombu.transport.TRANSPORT_ALIASES["statuspage-files"] = "statuspage.broker:Transport"
        return "statuspage-files://", {"folder": str(folder / "broker"), "polling_interval": 0.5}
    if broker == "kombu":
        queue = folder / "broker" / "queue"
        for sub in ("queue", "control", "processed"):
            (folder / "broker" / sub).mkdir(parents=True, exist_ok=True)
        return "filesystem://", {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(folder / "broker" / "control"),
            "processed_folder": str(folder / "broker" / "processed"),
            "polling_interval": 0.5,
        }
    if broker == "sqla":
        # Its transport options go to SQLAlchemy's create_engine, which refuses this one; and
        # kombu's loop sleeps a whole interval after each task: 10 ms, its best case.
        from kombu.transport import sqlalchemy

        sqlalchemy.Transport.polling_interval = 0.01
        return f"sqla+sqlite:///{folder / 'broker.sqlite3'}", {}
    raise SystemExit(f"unknown broker {broker!r}")


url, options = _broker_config(BROKER, FOLDER)
app = Celery("bench_broker", broker=url)
app.conf.update(
    broker_transport_options=options,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.record")
def record(number: int) -> None:
    # One line per run, appended whole: the bench counts lines and duplicates.
    with open(FOLDER / "done.txt", "a") as file:
        file.write(f"{number}\n")


def _done(folder: Path) -> list[int]:
    try:
        return [int(line) for line in (folder / "done.txt").read_text().split()]
    except FileNotFoundError:
        return []


def _publish(numbers: range) -> None:
    for number in numbers:
        record.delay(number)


def run(broker: str, tasks: int, publishers: int, timeout: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-broker-{broker}-"))
    env = {**os.environ, "BENCH_BROKER": broker, "BENCH_FOLDER": str(folder)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    global FOLDER
    FOLDER = folder
    # The publishers are forks of this process: they send where this run's worker listens.
    app.conf["broker_url"], app.conf["broker_transport_options"] = _broker_config(broker, folder)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.broker", "worker", "--concurrency=1"]
        + ["--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        env=env,
        cwd=ROOT,
        stdout=open(folder / "worker.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    try:
        # Warm up: the worker is ready when it has run task -1.
        ctx = multiprocessing.get_context("fork")
        warm = ctx.Process(target=_publish, args=(range(-1, 0),))
        warm.start()
        warm.join()
        deadline = time.monotonic() + 60
        while -1 not in _done(folder):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{broker}: the worker did not start, see {folder}/worker.log")
            time.sleep(0.1)
        started = time.monotonic()
        shares = [range(i, tasks, publishers) for i in range(publishers)]
        processes = [ctx.Process(target=_publish, args=(share,)) for share in shares]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        published = time.monotonic() - started
        deadline = started + timeout
        while len(_done(folder)) < tasks + 1:
            if worker.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        drained = time.monotonic() - started
        done = [n for n in _done(folder) if n >= 0]
        return {
            "broker": broker,
            "published/s": round(tasks / published) if published else 0,
            "seconds": round(drained, 1),
            "done/s": round(len(done) / drained, 1),
            "done": len(set(done)),
            "duplicated": len(done) - len(set(done)),
            "worker": "alive" if worker.poll() is None else f"died ({worker.returncode})",
        }
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--brokers", default="files,kombu,sqla")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    rows = [
        run(broker, args.tasks, args.publishers, args.timeout) for broker in args.brokers.split(",")
    ]
    columns = ["broker", "published/s", "seconds", "done/s", "done", "duplicated", "worker"]
    print(f"{args.tasks} tasks from {args.publishers} publishers, one worker process")
    print("  ".join(f"{c:>12}" for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]!s:>12}" for c in columns))


if __name__ == "__main__":
    main()
