"""Host → council, cached per process.

Stock django-tenants reads the domain table on every request, which halves throughput. We keep
what we have looked up and drop it all when the *tenancy generation* moves: a counter that a
database trigger bumps, in the same transaction, whenever a council or domain row changes
(see migration 0002). A process reads the counter at most once per
TENANT_CACHE_CHECK_SECONDS, so a change (a suspension, a new host name) is seen everywhere
within that time, and immediately in the process that made it.
"""

import threading
import time

from django.conf import settings
from django.db import connection

from tenants.models import Council, Domain

# Unknown hosts are remembered too (so a scanner cannot make every request a query), but the
# cache is bounded so random Host headers cannot grow it without limit.
MAX_CACHED_HOSTS = 10_000


class CouncilDirectory:
    def __init__(self) -> None:
        self._by_host: dict[str, Council | None] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def council_for_host(self, hostname: str) -> Council | None:
        """The council answering on `hostname`, or None. The connection must be on public."""
        self._drop_if_generation_moved()
        try:
            return self._by_host[hostname]
        except KeyError:
            pass
        domain = (
            Domain.objects.select_related("tenant")
            .filter(domain=hostname, verified_at__isnull=False)
            .first()
        )
        council = domain.tenant if domain else None
        with self._lock:
            if len(self._by_host) >= MAX_CACHED_HOSTS:
                self._by_host.clear()
            self._by_host[hostname] = council
        return council

    def forget(self) -> None:
        """Drop everything now (the caller has just changed a council or a domain)."""
        with self._lock:
            self._by_host.clear()
            self._checked_at = float("-inf")

    def _drop_if_generation_moved(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < settings.TENANT_CACHE_CHECK_SECONDS:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM public.tenants_tenancygeneration WHERE id = 1")
            row = cursor.fetchone()
        generation = row[0] if row else 0
        with self._lock:
            if generation != self._generation:
                self._by_host.clear()
                self._generation = generation
            self._checked_at = now


council_directory = CouncilDirectory()
