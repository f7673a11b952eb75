"""Secrets the public schema keeps (a council's identity provider client secret): Fernet-encrypted.

The same key as income's secrets (income.govuk_pay.encryption): COUNTERFOIL_ENCRYPTION_KEY when
set (one Fernet key, or several separated by commas, newest first, so keys can be rotated),
otherwise derived from SECRET_KEY. Here because tenants may not import income.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    configured = getattr(settings, "COUNTERFOIL_ENCRYPTION_KEY", "") or ""
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not keys:
        digest = hashlib.sha256(b"counterfoil-secrets-at-rest:" + settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(digest.digest()).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
