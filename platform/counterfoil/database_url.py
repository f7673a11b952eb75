"""Turn a libpq connection URL (TCP or unix socket) into Django's DATABASES entry."""

from typing import Any

from psycopg.conninfo import conninfo_to_dict

# Keys Django keeps outside OPTIONS; everything else libpq understands goes into OPTIONS.
_DJANGO_KEYS = {
    "dbname": "NAME",
    "user": "USER",
    "password": "PASSWORD",
    "host": "HOST",
    "port": "PORT",
}


def database_settings(url: str, *, engine: str, conn_max_age: int) -> dict[str, Any]:
    params = conninfo_to_dict(url)
    settings: dict[str, Any] = {
        "ENGINE": engine,
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {},
    }
    for key, value in params.items():
        if key in _DJANGO_KEYS:
            settings[_DJANGO_KEYS[key]] = str(value)
        else:
            settings["OPTIONS"][key] = value
    settings.setdefault("NAME", "counterfoil")
    return settings
