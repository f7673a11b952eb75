"""The demo's and the tests' broker writes each message whole before a worker can see it: a
worker polling mid-write once took an empty file, lost the message and stopped consuming."""

from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from counterfoil.celery_app import app


def test_the_platform_sends_through_the_whole_message_transport():
    with app.connection_for_write() as connection:
        assert type(connection.transport).__module__ == "counterfoil.filesystem_broker"


def test_a_message_half_written_is_never_read_and_a_whole_one_is(tmp_path: Path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection(
        "filesystem://",
        transport="counterfoil.filesystem_broker:Transport",
        transport_options=options,
    ) as connection:
        channel = connection.default_channel
        # What a writer has started and not finished: kombu's reader must pass it by.
        (folder / ".3f2a.partial").write_bytes(b"")
        with pytest.raises(Empty):
            channel._get("celery")
        channel._put("celery", {"body": "whole", "properties": {}})
        assert channel._get("celery")["body"] == "whole"
        assert [path.name for path in folder.iterdir()] == [".3f2a.partial"]
