"""`platform/` holds our code but must never shadow the standard library's `platform`."""

import subprocess
import sys
import sysconfig
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
STDLIB = sysconfig.get_paths()["stdlib"]


def test_there_is_no_platform_package_marker():
    assert not (REPOSITORY / "platform" / "__init__.py").exists()


def test_import_platform_from_the_repository_root_is_the_standard_library():
    output = subprocess.check_output(
        [
            sys.executable,
            "-c",
            "import platform; print(platform.system()); print(platform.__file__)",
        ],
        cwd=REPOSITORY,
        text=True,
    ).split()
    assert output[0] == "Linux"
    assert output[1].startswith(STDLIB)


def test_platform_inside_django_is_the_standard_library():
    import platform
    import uuid

    from django.conf import settings

    assert settings.configured
    assert platform.system() == "Linux"
    assert platform.__file__.startswith(STDLIB)
    assert uuid.uuid4().version == 4


def test_platform_inside_celery_is_the_standard_library():
    code = (
        "import counterfoil.celery_app as c, platform, celery.platforms; "
        f"print(platform.system(), platform.__file__.startswith({STDLIB!r}))"
    )
    output = subprocess.check_output([sys.executable, "-c", code], cwd=REPOSITORY, text=True)
    assert output.split() == ["Linux", "True"]
