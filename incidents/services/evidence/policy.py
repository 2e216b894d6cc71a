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
HTML = "text/html"
SVG = "image/svg+xml"
XML = "application/xml"
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
# Markup a browser would render, and run the scripts of, if it were ever shown inline.
MARKUP_REASONS = {
    HTML: "Web pages are not accepted as evidence, because a browser would run them: "
    "save the page as PDF or take a screenshot.",
    SVG: "SVG images are not accepted as evidence, because they can carry scripts: "
    "export the image as PNG or PDF.",
    XML: "XML documents are not accepted as evidence, because a browser can run them as "
    "a page: save the document as PDF or plain text.",
}
_TYPE_NAMES = {
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/tiff": "a TIFF image",
    "image/heic": "a HEIC image",
    "application/pdf": "a PDF document",
    "audio/mpeg": "an MP3 recording",
    "audio/mp4": "an M4A recording",
    "video/mp4": "an MP4 video",
    "video/quicktime": "a QuickTime video",
    TEXT: "plain text",
    HTML: "an HTML page",
    SVG: "an SVG image",
    XML: "an XML document",
}
_FAMILY_NAMES = {
    "image": "an image",
    "audio": "an audio recording",
    "video": "a video",
    "office document": "an office document",
}
# What browsers sniff as HTML (the WHATWG MIME Sniffing Standard's patterns, after
# leading white space), an SVG root element, and the tags that make any file a page
# with scripts when a browser renders it.
_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body"
    rb"|br|p)[\s>]|<!--",
    re.IGNORECASE,
)
_HTML_ROOT = re.compile(rb"<html[\s>]", re.IGNORECASE)
_SVG_ROOT = re.compile(rb"<svg[\s>/:]|<!doctype\s+svg", re.IGNORECASE)
_ACTIVE_MARKUP = re.compile(
    rb"<(?:script|html|svg|iframe|object|embed)[\s/>]|<!doctype\s+html", re.IGNORECASE
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


def _markup_type(head: bytes) -> str | None:
    """HTML, SVG or XML, as a browser sniffing the first bytes would take the file."""
    start = head[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\x0c\r")
    if start[:5].lower() == b"<?xml":
        if _SVG_ROOT.search(start):
            return SVG
        return HTML if _HTML_ROOT.search(start) else XML
    if _SVG_ROOT.match(start):
        return SVG
    return HTML if _HTML_START.match(start) else None


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes, whether evidence may have it or not:
    filetype's answer, else markup (HTML, SVG, XML), else plain text; None if unknown."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is not None:
        return str(kind.mime)
    markup = _markup_type(head)
    if markup is not None:
        return markup
    return TEXT if _looks_like_text(head) else None


def describe(media_type: str) -> str:
    """'a PNG image (image/png)': what a message calls a media type."""
    family = ACCEPTED_MEDIA_TYPES.get(media_type, "")
    name = _TYPE_NAMES.get(media_type) or _FAMILY_NAMES.get(family)
    return f"{name} ({media_type})" if name else f"a file of type {media_type}"


def detect_media_type(head: bytes) -> str:
    """The media type of a file from its first bytes, if it is one evidence may have.

    Also refused: a file of an accepted type whose first bytes hold HTML that a browser
    would run (a polyglot: an image that is also a page).
    """
    if head.startswith(b"#!"):
        raise ValidationError.on("file", "Scripts are not accepted as evidence.")
    media_type = sniff(head)
    if media_type is None:
        raise ValidationError.on(
            "file",
            "The type of this file could not be recognised from its content. "
            f"Accepted are {ACCEPTED_KINDS}.",
        )
    if media_type in ACCEPTED_MEDIA_TYPES:
        if media_type != TEXT:
            _refuse_polyglot(head, media_type)
        return media_type
    if media_type in MARKUP_REASONS:
        reason = f"This file is {describe(media_type)}. {MARKUP_REASONS[media_type]}"
    elif media_type in EXECUTABLE_MEDIA_TYPES:
        reason = f"Programs ({media_type}) are not accepted as evidence."
    elif media_type in ARCHIVE_MEDIA_TYPES:
        reason = f"Archives ({media_type}) are not accepted: add the files inside one by one."
    else:
        reason = f"{media_type} files are not accepted as evidence. Accepted are {ACCEPTED_KINDS}."
    raise ValidationError.on("file", reason)


def _refuse_polyglot(head: bytes, media_type: str) -> None:
    found = _ACTIVE_MARKUP.search(head[:SNIFF_BYTES])
    if found is None:
        return
    tag = found.group().decode("ascii", "replace").rstrip(" \t\n\r\x0c/>")
    raise ValidationError.on(
        "file",
        f"This file is {describe(media_type)} but also holds web-page markup ({tag}…) in "
        "its first bytes: a file that is two things at once could be run by a browser, so "
        "it is not accepted. Export or save the original again, or take a screenshot.",
    )


def served_media_type(recorded: str) -> str:
    """The Content-Type a download is sent with: the recorded type when evidence may have
    it (never HTML, SVG or XML), anything else as opaque bytes."""
    return recorded if recorded in ACCEPTED_MEDIA_TYPES else "application/octet-stream"


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
