import base64
import hashlib

import factory
import pyotp
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP

from income.models import Fund
from tenants.models import User

PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def totp(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Staff have a second factor, as the platform requires; `UserFactory(totp=False)` for
        someone who has not enrolled yet."""
        if create and extracted is not False:
            TOTP.activate(self, totp_secret_for(self.email))


def totp_secret_for(email: str) -> str:
    """The TOTP secret a factory-made person's authenticator holds (stable per address)."""
    return base64.b32encode(hashlib.sha256(f"test-totp:{email}".encode()).digest()[:20]).decode()


def totp_code_now(email: str) -> str:
    return totp_code_for_secret(totp_secret_for(email))


def totp_code_for_secret(secret: str) -> str:
    """The code an authenticator shows now, computed by pyotp (an implementation independent
    of allauth's). No waiting at a window's edge: the server accepts the code of the window
    before its own (settings.MFA_TOTP_TOLERANCE)."""
    from allauth.mfa import app_settings

    return pyotp.TOTP(
        secret, interval=app_settings.TOTP_PERIOD, digits=app_settings.TOTP_DIGITS
    ).now()


class FundFactory(factory.django.DjangoModelFactory):
    """A fund with its ledger account, in whichever council schema is current."""

    class Meta:
        model = Fund
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"F{n:04d}")
    name = factory.Sequence(lambda n: f"Fund {n}")

    @factory.post_generation
    def ledger_account(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            from income.accounts import fund_account

            fund_account(self)
