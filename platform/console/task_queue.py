"""How many tasks wait in the broker's default queue (Redis, or the demo's file-system broker)."""

from celery import current_app
from kombu.exceptions import ChannelError


def queue_depth() -> int:
    # current_app: the platform's Celery app, loaded with Django (counterfoil.apps).
    with current_app.connection_for_read() as broker:
        try:
            declared = broker.default_channel.queue_declare(
                queue=current_app.conf.task_default_queue, passive=True
            )
        except ChannelError:  # never declared: no worker has started and nothing was sent
            return 0
        return int(declared.message_count)
