"""The stand-in's WSGI application: builds its in-memory database and seeds it on import, in
the one worker process that then serves it (no --preload: the connection must be the worker's).
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.standins.oidc_provider.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from tests.standins.oidc_provider.seeding import seed  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
seed(json.loads(os.environ["OIDC_STANDIN_CONFIG"]))
application = get_wsgi_application()
