"""The release artefact: the image definition has the properties production needs, and the
wheel carries what the processes need (templates, vendored GOV.UK Frontend) and nothing of the
tests (the stand-ins)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

REPOSITORY = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPOSITORY / "infra" / "image" / "Containerfile"


@pytest.fixture(scope="module")
def image() -> DockerfileParser:
    parser = DockerfileParser(fileobj=CONTAINERFILE.open("rb"))
    return parser


def _final_stage(image: DockerfileParser) -> list[dict]:
    stages: list[list[dict]] = []
    for instruction in image.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages[-1]


def test_the_image_is_built_in_two_stages_from_a_pinned_debian_python_3_11(image):
    bases = [i["value"] for i in image.structure if i["instruction"] == "FROM"]
    assert len(bases) == 2
    for base in bases:
        name = base.split()[0]
        assert name.startswith("docker.io/library/python:3.11.")  # a patch release, pinned
        assert name.endswith("-slim-bookworm")


def test_the_final_stage_runs_as_a_user_with_no_build_tools(image):
    final = _final_stage(image)
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users and users[-1] not in {"root", "0"}
    runs = " ".join(i["value"] for i in final if i["instruction"] == "RUN")
    for tool in ("npm", "nodejs", "gcc", "build-essential", "apt-get install"):
        assert tool not in runs
    assert any(i["instruction"] == "COPY" and "--from=build" in i["value"] for i in final)


def test_everything_written_goes_under_one_data_path_and_health_is_checked(image):
    final = _final_stage(image)
    env = image.envs
    assert env["COUNTERFOIL_DATA_DIR"] == "/var/lib/counterfoil"
    assert any(i["instruction"] == "VOLUME" and "/var/lib/counterfoil" in i["value"] for i in final)
    [healthcheck] = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert [i["value"] for i in final if i["instruction"] == "CMD"] == ['["counterfoil", "serve"]']


def test_the_wheel_carries_templates_and_assets_but_not_the_test_stand_ins(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path)],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("counterfoil-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tenants/jinja2/govuk/form.html" in names  # GOV.UK forms render from these
    assert "counterfoil/static/vendor/govuk-frontend/govuk-frontend.min.css" in names
    assert "counterfoil/gunicorn_config.py" in names
    assert "tenants/management/commands/release.py" in names
    assert not [name for name in names if name.startswith("tests/")]
    assert not [name for name in names if "standin" in name]
