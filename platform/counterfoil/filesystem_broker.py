"""kombu's file-system transport (the demo's and the tests' broker) with each message written
whole before it can be seen.

kombu creates a message's file under its final name and then writes into it; a worker polling
the folder in between moves the still-empty file away, fails to read it ("Expecting value") and
the message is lost, the worker's consumer with it. Here the message is written under a name
the queue never matches and renamed into place, which is atomic on one file system.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A dot-name: kombu's reader takes only files named <stamp>_<id>.<queue>.msg.
        partial = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
