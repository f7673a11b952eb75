"""Prepare the bare project's database and print a signed-in session's key.

Run as `python -m tests.bench.bare_project.signed_in_session` with BARE_DATABASE_URL set.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.bare_project.settings")


def main() -> None:
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    user = User.objects.create_user("member", "member@example.org", "not-used-for-login")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    print(session.session_key)


if __name__ == "__main__":
    main()
