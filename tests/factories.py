import factory
from allauth.account.models import EmailAddress

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
