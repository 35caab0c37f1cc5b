"""The embedded broker (statuspage/broker.py): whole messages only, a message that cannot be read
is put aside instead of killing its reader, a taken message lives until it is acknowledged, and
what a dead process had taken goes back to its queue."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import kombu
import pytest

import statuspage.celery  # noqa: F401 - maps filesystem:// to the embedded broker

ROOT = Path(__file__).resolve().parents[1]


def connect(folder: Path) -> kombu.Connection:
    return kombu.Connection("filesystem://", transport_options={"folder": str(folder)})


def queue_files(folder: Path, queue: str) -> list[Path]:
    path = folder / "queues" / queue
    return sorted(path.iterdir()) if path.is_dir() else []


def test_filesystem_urls_use_the_embedded_broker(tmp_path):
    with connect(tmp_path) as connection:
        assert connection.transport.driver_name == "statuspage-files"


def test_a_message_goes_round_and_is_gone_once_acknowledged(tmp_path):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        queue.put({"n": 1})
        message = queue.get(timeout=2)
        assert message.payload == {"n": 1}
        # Taken but not acknowledged: kept aside under processing/, not in the queue.
        assert queue_files(tmp_path, "work") == []
        assert len(list((tmp_path / "processing").rglob("*.msg"))) == 1
        message.ack()
        assert list((tmp_path / "processing").rglob("*.msg")) == []
        queue.close()


@pytest.mark.parametrize("content", [b"", b'{"body": "half a mess'], ids=["empty", "half"])
def test_a_message_that_cannot_be_read_is_quarantined_and_the_next_one_delivered(
    tmp_path, caplog, content
):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        queue.put({"n": 2})
        (good,) = queue_files(tmp_path, "work")
        # Sorted before the good one, as a file a crashed or starved writer left.
        (good.parent / f"{0:020d}_bad.work.msg").write_bytes(content)
        with caplog.at_level(logging.ERROR, logger="statuspage.broker"):
            message = queue.get(timeout=2)
        assert message.payload == {"n": 2}
        message.ack()
        assert len(list((tmp_path / "quarantine").iterdir())) == 1
        assert "event=broker.quarantined queue=work" in caplog.text
        queue.close()


def test_a_message_a_dead_process_had_taken_is_delivered_again(tmp_path):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        queue.put({"n": 3})
        queue.close()
    # A consumer takes it and dies without acknowledging it (SIGKILL, as a crash).
    take = textwrap.dedent(f"""
        import os, kombu, statuspage.celery
        c = kombu.Connection("filesystem://", transport_options={{"folder": {str(tmp_path)!r}}})
        q = c.SimpleQueue("work")
        print(q.get(timeout=5).payload, flush=True)
        os.kill(os.getpid(), 9)
    """)
    result = subprocess.run(
        [sys.executable, "-c", take], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -9, result.stderr
    assert "{'n': 3}" in result.stdout
    assert queue_files(tmp_path, "work") == []
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        message = queue.get(timeout=2)
        assert message.payload == {"n": 3}
        message.ack()
        queue.close()
    assert list((tmp_path / "processing").rglob("*.msg")) == []


def test_messages_of_kombus_single_folder_layout_are_taken_over(tmp_path):
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        queue.put({"n": 4})
        (written,) = queue_files(tmp_path, "work")
        legacy = tmp_path / "queue"
        legacy.mkdir()
        os.rename(written, legacy / written.name)
        # The empty file a full disk left in the old layout.
        (legacy / "0_0.work.msg").write_bytes(b"")
        message = queue.get(timeout=2)
        assert message.payload == {"n": 4}
        message.ack()
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.5)
        assert [p.name for p in (tmp_path / "quarantine").iterdir()] == ["0_0.work.msg"]
        queue.close()


def test_a_write_that_fails_leaves_no_message_and_raises_to_the_publisher(tmp_path):
    # A file-size limit stands in for a full disk: the write fails part way (EFBIG).
    publish = textwrap.dedent(f"""
        import resource, signal, kombu, statuspage.celery
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        c = kombu.Connection("filesystem://", transport_options={{"folder": {str(tmp_path)!r}}})
        q = c.SimpleQueue("work")
        q.put({{"n": 5}})
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            q.put({{"big": "x" * 100_000}})
        except Exception as error:
            print("refused:", type(error).__name__, flush=True)
    """)
    result = subprocess.run(
        [sys.executable, "-c", publish], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "refused: ChannelError" in result.stdout, result.stderr
    (only,) = queue_files(tmp_path, "work")
    assert json.loads(only.read_bytes())["body"]
    assert list((tmp_path / "tmp").iterdir()) == []
