"""Django's database sessions, read with one schema-qualified statement.

Every signed-in request reads its session; the statement names `public.django_session`, so
it runs without django-tenants' `SET search_path` before it (tenants.postgresql_backend).
Writing a session (signing in, the once-a-minute activity stamp) is Django's own code.
"""

import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from tenants.postgresql_backend.base import schema_qualified_statements

_READ = (
    "SELECT session_key, session_data, expire_date FROM public.django_session"
    " WHERE session_key = %s AND expire_date > %s"
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        try:
            with schema_qualified_statements():
                found = next(
                    iter(Session.objects.raw(_READ, [self.session_key, timezone.now()])), None
                )
        except SuspiciousOperation as error:
            logging.getLogger(f"django.security.{type(error).__name__}").warning(str(error))
            found = None
        if found is None:
            self._session_key = None
        return found
