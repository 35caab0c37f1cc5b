"""bin/supervise.py: a child that dies is started again; stopping the supervisor stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition, timeout: float = 20.0) -> None:  # noqa: ANN001 - any callable
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive: it waits for its parent to reap it.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_killed_child_comes_back_and_a_stop_stops_it(tmp_path):
    log = tmp_path / "pids"
    child = (
        f'{sys.executable} -c "import os, time; '
        f"open('{log}', 'a').write(f'{{os.getpid()}}\\\\n'); time.sleep(600)\""
    )
    supervisor = subprocess.Popen(
        [sys.executable, str(ROOT / "bin" / "supervise.py"), f"sleeper={child}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(pids(log)) == 1)
        (first,) = pids(log)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: len(pids(log)) == 2)
        second = pids(log)[1]
        assert second != first and alive(second)
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(30)
        assert not alive(second)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    err = supervisor.stderr.read() if supervisor.stderr else ""
    assert f"event=process.exited name=sleeper pid={first} code=-9" in err
    assert "event=process.started name=sleeper" in err


def test_a_command_must_be_named():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "supervise.py"), "sleep 1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "expected NAME='COMMAND ...'" in result.stderr


def test_a_stop_asks_every_child_at_once_and_kills_those_that_stay(tmp_path):
    """Two children deaf to SIGTERM: each notes, when it gets SIGTERM, whether the other is
    still alive. Asked at once, both find the other alive; asked in turn, the second would find
    the first already killed. Both are gone once the supervisor has stopped."""
    log, heard = tmp_path / "pids", tmp_path / "heard"
    script = tmp_path / "deaf.py"
    script.write_text(
        "import os, signal, time\n"
        f"LOG, HEARD = {str(log)!r}, {str(heard)!r}\n"
        "def others_alive():\n"
        "    others = [int(p) for p in open(LOG).read().split() if int(p) != os.getpid()]\n"
        "    try:\n"
        "        for pid in others:\n"
        "            os.kill(pid, 0)\n"
        "    except ProcessLookupError:\n"
        "        return False\n"
        "    return bool(others)\n"
        "def note(signum, frame):\n"
        "    open(HEARD, 'a').write(f'{os.getpid()} {others_alive()}\\n')\n"
        "signal.signal(signal.SIGTERM, note)\n"
        "open(LOG, 'a').write(f'{os.getpid()}\\n')\n"
        "while True:\n"
        "    time.sleep(1)\n"
    )
    deaf = f"{sys.executable} {script}"
    supervisor = subprocess.Popen(
        [sys.executable, str(ROOT / "bin" / "supervise.py"), "--stop-timeout", "2",
         f"first={deaf}", f"second={deaf}"],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(pids(log)) == 2)
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(30)
        assert all(not alive(pid) for pid in pids(log))
        notes = sorted(heard.read_text().split("\n")[:-1])
        assert notes == sorted(f"{pid} True" for pid in pids(log))
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
