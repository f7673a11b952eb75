"""The default cache, with allauth's security keys sent to a cache of their own.

allauth reads and writes only `django.core.cache.cache` (the "default" alias): the codes a
TOTP authenticator has already accepted, the counts behind its rate limits (wrong passwords,
wrong codes, password resets) and the locks around them. Those must be one set of keys for the
whole platform, seen by every process on every host: a used code marked in one worker's memory,
or under one council's schema prefix (django-tenants' `make_key`), is a code that works again
in the next worker or on the next council's host.

So "default" is this router: keys that begin with one of SECURITY_KEY_PREFIXES go to the
SECURITY_CACHE alias (Redis, or PostgreSQL's table when there is no Redis; never per process,
never per council), everything else to the COUNCIL_CACHE alias, whose keys carry the council's
schema as before.
"""

from typing import Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT

Timeout = Any  # seconds, None (for ever) or DEFAULT_TIMEOUT


class SecurityRoutingCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = params.get("OPTIONS", {})
        self.security_alias: str = options["SECURITY_CACHE"]
        self.council_alias: str = options["COUNCIL_CACHE"]
        self.security_prefixes: tuple[str, ...] = tuple(options["SECURITY_KEY_PREFIXES"])

    def cache_for(self, key: str) -> BaseCache:
        if key.startswith(self.security_prefixes):
            return caches[self.security_alias]
        return caches[self.council_alias]

    def add(
        self, key: str, value: Any, timeout: Timeout = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self.cache_for(key).add(key, value, timeout, version)

    def get(self, key: str, default: Any = None, version: Any = None) -> Any:
        return self.cache_for(key).get(key, default, version)

    def set(
        self, key: str, value: Any, timeout: Timeout = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self.cache_for(key).set(key, value, timeout, version)

    def touch(self, key: str, timeout: Timeout = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self.cache_for(key).touch(key, timeout, version)

    def delete(self, key: str, version: Any = None) -> bool:
        return self.cache_for(key).delete(key, version)

    def incr(self, key: str, delta: int = 1, version: Any = None) -> int:
        # The target's own increment: Redis's is atomic.
        return self.cache_for(key).incr(key, delta, version)

    def has_key(self, key: str, version: Any = None) -> bool:
        return self.cache_for(key).has_key(key, version)

    def clear(self) -> None:
        caches[self.council_alias].clear()
        caches[self.security_alias].clear()

    def close(self, **kwargs: Any) -> None:
        caches[self.council_alias].close(**kwargs)
        caches[self.security_alias].close(**kwargs)
