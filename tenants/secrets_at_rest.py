"""Secrets at rest (GOV.UK Pay API keys and webhook secrets, event endpoints' signing secrets,
a council's identity provider client secret): Fernet-encrypted.

The key comes from COUNTERFOIL_ENCRYPTION_KEY when set (a Fernet key, or several separated by
commas, newest first, so keys can be rotated), otherwise it is derived from SECRET_KEY. In
tenants, the lowest layer, so that every app uses this one.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "last_characters"]


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


def last_characters(plain: str, count: int = 4) -> str:
    return plain[-count:] if len(plain) > count * 2 else ""
