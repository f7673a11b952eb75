"""The base of every Celery task: each carries the schema of the council that enqueued it.

tenant-schemas-celery puts the schema in the message headers and switches to it in the worker,
but when a message has no schema it quietly runs in the public schema. A council's task must
never do that, so CouncilTask refuses both to be sent and to run without a council. It lives
here, below every app, so that apps declare tasks with `shared_task` and never import the
Celery app that wires them together.
"""

from typing import Any

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name
from tenant_schemas_celery.task import TenantTask

SCHEMA_HEADER = "_schema_name"


class NoCouncilError(RuntimeError):
    """A council's task was sent or run outside any council's schema."""


class CouncilTask(TenantTask):
    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if connection.schema_name == get_public_schema_name():
            raise NoCouncilError(
                f"Task {self.name} has no council: it refuses to run in the public schema."
            )
        return super().__call__(*args, **kwargs)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        headers = dict(options.get("headers") or {})
        headers[SCHEMA_HEADER] = _council_schema(self.name, headers.get(SCHEMA_HEADER))
        options["headers"] = headers
        return super().apply_async(args, kwargs, **options)

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        # The schema is the one current now, when the work is asked for, not at commit time.
        schema = _council_schema(self.name, None)
        transaction.on_commit(
            lambda: self.apply_async(args, kwargs, headers={SCHEMA_HEADER: schema})
        )


def _council_schema(task_name: str, schema: str | None) -> str:
    schema = schema or connection.schema_name
    if schema == get_public_schema_name():
        raise NoCouncilError(
            f"Task {task_name} was sent from the public schema; send it within a council."
        )
    return schema


def send_on_commit(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Send the council task registered as `task_name` once the transaction commits.

    Actions schedule work by name through this: the task modules import the actions, and an
    action importing a task module back would tie the two into a cycle.
    """
    from celery import current_app

    # The schema is the one current now, when the work is asked for, not at commit time.
    schema = _council_schema(task_name, None)
    transaction.on_commit(
        lambda: current_app.send_task(
            task_name, args, countdown=countdown, headers={SCHEMA_HEADER: schema}
        )
    )
