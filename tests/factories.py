import base64
import hashlib
import time

import factory
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
    """The code an authenticator shows now, waiting out the last two seconds of a window so
    that the code is still current when the server checks it."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    if time.time() % app_settings.TOTP_PERIOD > app_settings.TOTP_PERIOD - 2:
        time.sleep(2.1)
    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


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
