"""Finding 10: an ARUDD upload was read whole into memory before its 20 MB check (a 400 MB
upload took a worker to 864 MB). Every upload is now measured while it streams in and stopped
at the receiving page's limit (tenants.upload_limits), before any of it is read whole."""

import re
import tracemalloc

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from income.actions.returned_debits import apply_returned_debits
from income.defaults import seed_income_defaults
from income.imports.storage import UploadTooLarge, read_upload
from income.models import ReturnedDebit
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

MEGABYTE = 1024 * 1024
BOUNDARY = "----counterfoil-upload-boundary"
ARUDD_REFUSED = (
    "The file is larger than 20 MB, the largest this page takes: it was not read or kept."
)


class StreamedUpload:
    """A multipart body with one large file, made as it is read (so the test itself holds
    none of it), noting how much of it was read."""

    def __init__(self, fields: dict[str, str], file_size: int) -> None:
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.xml"\r\nContent-Type: application/xml\r\n\r\n'
        )
        self.head = head.encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.file_size = file_size
        self.length = len(self.head) + file_size + len(self.tail)
        self.position = 0
        self.block = b"<x/>" * (16 * 1024)  # 64 KB, reused

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.length - self.position
        out = bytearray()
        while size > 0 and self.position < self.length:
            start = self.position
            if start < len(self.head):
                piece = self.head[start : start + size]
            elif start < len(self.head) + self.file_size:
                offset = start - len(self.head)
                left = self.file_size - offset
                piece = self.block[: min(size, left, len(self.block))]
            else:
                offset = start - len(self.head) - self.file_size
                piece = self.tail[offset : offset + size]
            out += piece
            self.position += len(piece)
            size -= len(piece)
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 64 * 1024)


def post_streamed(client, path: str, upload: StreamedUpload):
    environ = client._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="POST",
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(upload.length),
        **{"wsgi.input": upload},
    )
    return client.handler(environ)


@pytest.fixture
def ledger(db, in_council_a):
    seed_income_defaults()
    return in_council_a


@pytest.fixture
def officer_client(ledger, council_a):
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = host_client(ledger)
    assert client.login(email=officer.email, password=PASSWORD)
    return client


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_21_mb_arudd_report_is_stopped_while_it_streams_in(officer_client):
    # As a browser sends it: the CSRF token (checked, as in production) before the file.
    officer_client.handler.enforce_csrf_checks = True
    page = officer_client.get("/imports/returned-debits/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    upload = StreamedUpload({"csrfmiddlewaretoken": token}, 21 * MEGABYTE)
    tracemalloc.start()
    try:
        response = post_streamed(officer_client, "/imports/returned-debits/", upload)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert ARUDD_REFUSED in response.content.decode()
    # Never held whole: the peak is a few chunks, not the 21 MB file (read whole, it was 42).
    assert peak < 6 * MEGABYTE, f"peak {peak / MEGABYTE:.1f} MB"
    # The handler stopped reading at the limit: the rest of the body was never read.
    assert upload.position <= 20 * MEGABYTE + 256 * 1024 < upload.length
    assert not ReturnedDebit.objects.exists()


def test_a_report_within_the_limit_is_still_applied(officer_client):
    """Nothing valid is refused: a small report goes through the same handler."""
    item = (
        '<ReturnedDebitItem ref="CT0001" transCode="17" returnCode="0" '
        'returnDescription="REFER TO PAYER" originalProcessingDate="2026-11-20" '
        'valueOf="12.00" currency="GBP"><PayerAccount number="12345678" ref="CT0001" '
        'name="J SMITH" sortCode="200000"/></ReturnedDebitItem>'
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><BACSDocument><Data><ARUDD>'
        '<Header reportType="REFT1027" currentProcessingDate="2026-11-24"/><Advice>'
        f"<OriginatingAccountRecords><OriginatingAccountRecord>{item}"
        "</OriginatingAccountRecord></OriginatingAccountRecords></Advice></ARUDD></Data>"
        "</BACSDocument>"
    )
    response = officer_client.post(
        "/imports/returned-debits/", {"file": SimpleUploadedFile("arudd.xml", xml.encode())}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ReturnedDebit.objects.count() == 1


def test_each_page_has_its_own_limit(ledger, council_a):
    """The configuration CSV import takes 2 MB: a 3 MB file is stopped at 2 MB, not at the
    20 MB every other page defaults to."""
    admin = make_member(council_a, CouncilRole.ADMIN)
    client = host_client(ledger)
    assert client.login(email=admin.email, password=PASSWORD)
    response = post_streamed(client, "/config/funds/import/", StreamedUpload({}, 3 * MEGABYTE))
    assert response.status_code == 200
    assert (
        "The file is larger than 2 MB, the largest this page takes: it was not read or kept."
        in response.content.decode()
    )


def test_an_upload_that_claims_a_small_size_is_still_read_only_to_the_limit():
    class Lying:
        size = 10
        read = 0

        def chunks(self, chunk_size: int):
            while True:
                self.read += chunk_size
                yield b"x" * chunk_size

    lying = Lying()
    with pytest.raises(UploadTooLarge):
        read_upload(lying, 3 * MEGABYTE)
    assert lying.read <= 4 * MEGABYTE


def test_the_action_refuses_a_large_report_without_reading_it(ledger, council_a):
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)

    class Huge:
        size = 400 * MEGABYTE
        name = "huge.xml"

        def chunks(self, chunk_size: int):
            raise AssertionError("read although its size was known to be too large")

    with pytest.raises(ValidationError) as refusal:
        apply_returned_debits(council=ledger, uploaded_file=Huge(), acting_user=officer)
    assert refusal.value.messages == ["An ARUDD report is at most 20 MB."]
