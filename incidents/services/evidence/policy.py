"""What an evidence file may be: media types detected from the content, file names kept
without their paths, descriptions, sizes. Pure checks; nothing here reads the database.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

import filetype

from incidents.errors import ValidationError

TEXT = "text/plain"
SNIFF_BYTES = 8192  # what the type detection looks at
MAX_FILENAME = 255
MAX_DESCRIPTION = 2000

# What may be kept as evidence, by media type as detected from the content (filetype).
ACCEPTED_MEDIA_TYPES: dict[str, str] = {
    # images, camera raw included: the original a photographer hands over
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/tiff": "image",
    "image/bmp": "image",
    "image/heic": "image",
    "image/avif": "image",
    "image/jpx": "image",
    "image/x-canon-cr2": "image",
    "application/pdf": "PDF",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/ogg": "audio",
    "audio/x-flac": "audio",
    "audio/x-wav": "audio",
    "audio/amr": "audio",
    "audio/x-aiff": "audio",
    "video/mp4": "video",
    "video/x-m4v": "video",
    "video/quicktime": "video",
    "video/x-matroska": "video",
    "video/webm": "video",
    "video/x-msvideo": "video",
    "video/3gpp": "video",
    "video/mpeg": "video",
    "video/x-ms-wmv": "video",
    TEXT: "plain text",
    "application/msword": "office document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "office document",
    "application/vnd.ms-excel": "office document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "office document",
    "application/vnd.ms-powerpoint": "office document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "office document"
    ),
    "application/vnd.oasis.opendocument.text": "office document",
    "application/vnd.oasis.opendocument.spreadsheet": "office document",
    "application/vnd.oasis.opendocument.presentation": "office document",
    "application/rtf": "office document",
}
ACCEPTED_KINDS = "images, PDF, audio, video, plain text (UTF-8) and office documents"
EXECUTABLE_MEDIA_TYPES = frozenset(
    {
        "application/x-executable",
        "application/x-msdownload",
        "application/wasm",
        "application/x-deb",
        "application/x-rpm",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
        "application/vnd.ms-cab-compressed",
    }
)
ARCHIVE_MEDIA_TYPES = frozenset(
    {
        "application/zip",
        "application/epub+zip",
        "application/x-tar",
        "application/x-rar-compressed",
        "application/gzip",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/x-xz",
        "application/zstd",
        "application/x-brotli",
        "application/x-compress",
        "application/x-lzip",
        "application/x-lzop",
        "application/x-lz4",
        "application/x-unix-archive",
    }
)
# Text may hold tabs, line and page breaks; other control characters mean binary data
# (or terminal escape sequences, which have no place in a statement).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
# Bidirectional overrides and isolates can make "report\u202egnp.exe" look like a .png.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069]")


class EvidenceTooLarge(ValidationError):
    """The file is larger than the installation's evidence limit."""

    @classmethod
    def over(cls, limit: int) -> EvidenceTooLarge:
        message = (
            f"The file is larger than {human_size(limit)}, the most this installation "
            "accepts as evidence: choose a smaller file."
        )
        return cls(message, {"file": message})


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'; exact bytes below one KiB."""
    if size < 1024:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    raise AssertionError("unreachable")


class TextCheck:
    """Checks, chunk by chunk, that a file taken for plain text is UTF-8 text throughout."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def feed(self, data: bytes, *, final: bool = False) -> None:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError:
            raise ValidationError.on(
                "file",
                "The file starts as plain text but is not UTF-8 text throughout. "
                f"Accepted are {ACCEPTED_KINDS}.",
            ) from None
        if _CONTROL.search(text):
            raise ValidationError.on(
                "file",
                "The file starts as plain text but holds binary data. "
                f"Accepted are {ACCEPTED_KINDS}.",
            )


def _looks_like_text(head: bytes) -> bool:
    try:
        TextCheck().feed(head)  # not final: the sample may end inside a character
    except ValidationError:
        return False
    return True


def detect_media_type(head: bytes) -> str:
    """The media type of a file from its first bytes, if it is one evidence may have."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None:
        if head.startswith(b"#!"):
            raise ValidationError.on("file", "Scripts are not accepted as evidence.")
        if _looks_like_text(head):
            return TEXT
        raise ValidationError.on(
            "file",
            "The type of this file could not be recognised from its content. "
            f"Accepted are {ACCEPTED_KINDS}.",
        )
    media_type = str(kind.mime)
    if media_type in ACCEPTED_MEDIA_TYPES:
        return media_type
    if media_type in EXECUTABLE_MEDIA_TYPES:
        reason = f"Programs ({media_type}) are not accepted as evidence."
    elif media_type in ARCHIVE_MEDIA_TYPES:
        reason = f"Archives ({media_type}) are not accepted: add the files inside one by one."
    else:
        reason = f"{media_type} files are not accepted as evidence. Accepted are {ACCEPTED_KINDS}."
    raise ValidationError.on("file", reason)


def clean_filename(filename: str) -> str:
    """The name to keep (encrypted): its last path part, without control characters."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = _HIDDEN.sub(
        "", "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cs"))
    )
    name = name.strip()[:MAX_FILENAME].strip()
    return name if name not in ("", ".", "..") else "unnamed"


def clean_description(description: str | None) -> str | None:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError.on(
            "description",
            f"The description is longer than {MAX_DESCRIPTION} characters: shorten it.",
        )
    return text or None
