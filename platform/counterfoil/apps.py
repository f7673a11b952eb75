from django.apps import AppConfig


class CounterfoilConfig(AppConfig):
    name = "counterfoil"

    def ready(self) -> None:
        # Tasks are `shared_task`s: they publish through the current Celery app, which is ours
        # only once it is imported. Without this, a web or test process sent its tasks to
        # Celery's default app (no broker configured) and no worker ever saw them.
        from counterfoil import celery_app  # noqa: F401
