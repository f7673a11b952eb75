"""The council's JSON API, version 1 (/api/v1/), with django-ninja: one module per resource,
the wiring in `app`, bearer-token clients in `auth`, error answers in `errors`."""
