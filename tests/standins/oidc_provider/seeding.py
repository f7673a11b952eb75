"""The stand-in's users and registered clients, from the configuration its starter passes."""

from typing import Any

from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Client
from django.contrib.auth import get_user_model


def seed(config: dict[str, Any]) -> None:
    for person in config["users"]:
        user = get_user_model().objects.create_user(
            username=person["email"],
            email=person["email"],
            password=person["password"],
            first_name=person.get("name", ""),
        )
        EmailAddress.objects.create(
            user=user, email=person["email"], verified=person["email_verified"], primary=True
        )
    for registered in config["clients"]:
        client = Client(
            id=registered["id"],
            name=registered["id"],
            type=Client.Type.CONFIDENTIAL,
            skip_consent=registered.get("skip_consent", False),
            data={"amr": registered.get("amr", []), "mischief": registered.get("mischief", "")},
        )
        client.set_secret(registered["secret"])  # stored hashed, as the provider does
        client.set_scopes(["openid", "profile", "email"])
        client.set_default_scopes(["openid", "profile", "email"])
        client.set_redirect_uris(config["redirect_uris"])
        client.save()
