from django.apps import AppConfig


class CounterfoilConfig(AppConfig):
    name = "counterfoil"

    def ready(self) -> None:
        # Load the Celery app with Django (in web processes too), so that the tasks each app
        # declares with `shared_task` are sent through it and its broker, not Celery's default.
        import counterfoil.celery_app  # noqa: F401
