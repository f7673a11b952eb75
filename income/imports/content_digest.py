"""The digest that says two uploads are the same file: SHA-256 of the content with its line
endings as LF and without the blank lines (or spaces) at its end. The same allpay file saved
on another computer (LF instead of CRLF) or with an extra empty line is still the same file."""

import hashlib

_TRAILING = b" \t\n"


class ContentDigest:
    """Fed the file's bytes in chunks of any size, as they are stored."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        # A CR at the end of a chunk may be the first half of a CRLF.
        self._carried_cr = False
        # Whitespace at the end of what was fed so far: part of the content only if
        # something other than whitespace follows it.
        self._held = bytearray()

    def update(self, chunk: bytes) -> None:
        if self._carried_cr:
            chunk = b"\r" + chunk
        self._carried_cr = chunk.endswith(b"\r")
        if self._carried_cr:
            chunk = chunk[:-1]
        chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        content = chunk.rstrip(_TRAILING)
        if content:
            self._digest.update(self._held)
            self._held.clear()
            self._digest.update(content)
            self._held += chunk[len(content) :]
        else:
            self._held += chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
