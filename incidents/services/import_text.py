"""The text of an imported file, whatever its encoding, read a piece at a time.

Spreadsheets and editors save text as UTF-8 with or without a byte-order mark, or as
UTF-16; any of these is read. Anything else (a file saved as Latin-1 or Windows-1252)
is refused at its first byte that is not UTF-8, naming the line, since guessing an
encoding would put wrong letters into names without anyone noticing. Lines are counted
as the text goes by, so that an error can say where it is.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO

CHUNK = 64 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SAVE_AS_UTF8 = "save the file as UTF-8 (in a spreadsheet: CSV UTF-8) and import it again."


class NotText(ValueError):
    """The bytes are not text in an encoding the import reads; `line` is where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class LineTooLong(NotText):
    """Text, but a line longer than any row of records: read no further."""

    def __init__(self, line: int, longest: int) -> None:
        super().__init__(
            line,
            f"Line {line} is longer than {longest:,} characters, far more than any row of "
            "records: check that its quotes are closed, or split it into rows.",
        )


def encoding_of(head: bytes) -> str:
    """The encoding of a file that begins with `head`: from its byte-order mark, UTF-8
    without one. UTF-16 without a mark (a NUL beside every letter) is refused."""
    for mark, encoding in _BOMS:
        if head.startswith(mark):
            return encoding
    if len(head) >= 4 and (head[1::2][:2] == b"\0\0" or head[0::2][:2] == b"\0\0"):
        raise NotText(1, f"The file looks like UTF-16 without a byte-order mark: {SAVE_AS_UTF8}")
    return "utf-8"


class DecodedText:
    """The text of `raw`, decoded piece by piece, with the number of the line reached."""

    def __init__(self, raw: IO[bytes], chunk: int = CHUNK) -> None:
        self._raw = raw
        self._chunk = chunk
        self._head = raw.read(chunk)
        self.encoding = encoding_of(self._head)
        self._decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        self.line = 1  # the line the text read so far has reached

    def pieces(self) -> Iterator[str]:
        """The decoded text, in pieces of about `chunk` bytes."""
        data, self._head = self._head, b""
        while True:
            final = not data
            text = self._decode(data, final)
            if text:
                yield text
            if final:
                return
            data = self._raw.read(self._chunk)

    def _decode(self, data: bytes, final: bool) -> str:
        try:
            text: str = self._decoder.decode(data, final)
        except UnicodeDecodeError as error:
            good = data[: error.start].decode(self.encoding, errors="ignore")
            line = self.line + good.count("\n")
            if self.encoding == "utf-8" or self.encoding == "utf-8-sig":
                reason = f"Line {line} holds bytes that are not UTF-8 text"
            else:
                reason = f"Line {line} is not readable as {self.encoding.upper()}"
            raise NotText(line, f"{reason}: {SAVE_AS_UTF8}") from None
        self.line += text.count("\n")
        return text

    def lines(self, longest: int) -> Iterator[str]:
        """The text line by line, each with its line break (as the csv module wants them).

        A line longer than `longest` characters is LineTooLong: a line is held whole
        before it is handed on, and a file of one endless line (a ZIP that unpacks to
        gigabytes of one letter) must not be."""
        rest: list[str] = []  # the pieces of the line not yet ended, joined once it ends
        size = 0
        for piece in self.pieces():
            parts = piece.split("\n")
            if len(parts) > 1:
                yield "".join(rest) + parts[0] + "\n"
                for part in parts[1:-1]:
                    yield part + "\n"
                rest, size = [], 0
            if parts[-1]:
                rest.append(parts[-1])
                size += len(parts[-1])
                if size > longest:
                    raise LineTooLong(self.line, longest)
        if rest:
            yield "".join(rest)


class Utf8Stream:
    """The decoded text as UTF-8 bytes, for a parser that reads bytes (ijson)."""

    def __init__(self, text: DecodedText) -> None:
        self._pieces = text.pieces()
        self._buffer = b""
        self.text = text

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece.encode("utf-8")
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
