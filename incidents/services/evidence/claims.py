"""What a file's name and the browser say it is, held against what its content is.

The content decides the type (incidents/services/evidence/policy.py); a name or a
declared type that says otherwise — an HTML page called photo.png, a picture called
report.exe — means the file is not what the person uploading it thinks, so it is refused
with both named rather than kept under a misleading name.
"""

from __future__ import annotations

import mimetypes
from typing import NoReturn

from incidents.errors import ValidationError
from incidents.services.evidence.policy import TEXT, describe, detect_media_type, sniff

# The extensions of the accepted types, by the type their content has. Python's own table
# (mimetypes, without the system's files, so that every installation answers alike)
# speaks for the others.
_BY_TYPE: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    # Camera raw formats built on TIFF are TIFF to the type detection.
    "image/tiff": ("tif", "tiff", "dng", "nef", "arw"),
    "image/bmp": ("bmp",),
    "image/heic": ("heic", "heif"),
    "image/avif": ("avif",),
    "image/jpx": ("jp2", "jpx", "j2k", "jpf"),
    "image/x-canon-cr2": ("cr2",),
    "application/pdf": ("pdf",),
    "audio/mpeg": ("mp3",),
    "audio/mp4": ("m4a",),
    "audio/aac": ("aac",),
    "audio/ogg": ("ogg", "oga", "opus"),
    "audio/x-flac": ("flac",),
    "audio/x-wav": ("wav",),
    "audio/amr": ("amr",),
    "audio/x-aiff": ("aif", "aiff"),
    "video/mp4": ("mp4",),
    "video/x-m4v": ("m4v",),
    "video/quicktime": ("mov", "qt"),
    "video/x-matroska": ("mkv",),
    "video/webm": ("webm",),
    "video/x-msvideo": ("avi",),
    "video/3gpp": ("3gp", "3gpp"),
    "video/mpeg": ("mpg", "mpeg"),
    "video/x-ms-wmv": ("wmv",),
    TEXT: ("txt", "text", "log", "md", "csv", "tsv"),
    "application/msword": ("doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.ms-powerpoint": ("ppt",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    "application/rtf": ("rtf",),
}
_EXTENSIONS = {ext: media_type for media_type, exts in _BY_TYPE.items() for ext in exts}
# Names that say "program or script", whatever the content: a picture called .exe is not
# kept under that name.
PROGRAM = "a program or script"
_PROGRAMS = ("exe", "com", "scr", "msi", "dll", "bat", "cmd", "ps1", "vbs", "hta", "lnk", "apk")
_SCRIPTS = ("js", "mjs", "jar", "sh", "bash", "zsh", "py", "pl", "rb", "php", "wsf", "vbe")
_PROGRAM_EXTENSIONS = frozenset((*_PROGRAMS, *_SCRIPTS))
# Families whose members share one container, which the first bytes cannot always tell
# apart: a phone's voice memo may carry a video brand, an old Word file Excel's marks.
_SAME_CONTAINER = (
    frozenset({"audio/mp4", "video/mp4", "video/x-m4v", "video/quicktime", "video/3gpp"}),
    frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}),
    frozenset(
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        }
    ),
)
# What browsers and operating systems declare for the same types under other names.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "image/x-adobe-dng": "image/tiff",
    "image/x-nikon-nef": "image/tiff",
    "image/x-sony-arw": "image/tiff",
    "image/heif": "image/heic",
    "image/jp2": "image/jpx",
    "application/x-pdf": "application/pdf",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/x-hx-aac-adts": "audio/aac",  # macOS
    "audio/flac": "audio/x-flac",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/vnd.wave": "audio/x-wav",
    "audio/aiff": "audio/x-aiff",
    "audio/opus": "audio/ogg",
    "audio/3gpp": "video/3gpp",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "video/matroska": "video/x-matroska",
    "text/rtf": "application/rtf",
    "application/x-rtf": "application/rtf",
    "text/xml": "application/xml",
    "application/xhtml+xml": "text/html",
    "text/x-log": TEXT,
    "text/csv": TEXT,
    "text/tab-separated-values": TEXT,
    "text/markdown": TEXT,
    "text/x-markdown": TEXT,
    "application/json": TEXT,  # data exports: kept, and handed out, as plain text
}
# A declared type that says nothing about the file.
_NO_CLAIM = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
)
# Windows declares .csv files as Excel workbooks when Excel is installed.
_DECLARED_QUIRKS = frozenset({(TEXT, "application/vnd.ms-excel")})
_PYTHON_TABLE = mimetypes.MimeTypes()


def claimed_by_name(filename: str) -> str | None:
    """The media type (or PROGRAM) a file name's extension stands for; None if it says
    nothing (no extension, or one nobody knows)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        return None
    extension = extension.lower()
    if extension in _PROGRAM_EXTENSIONS:
        return PROGRAM
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    guessed = _PYTHON_TABLE.guess_type(f"file.{extension}", strict=False)[0]
    return _canonical(guessed) if guessed and guessed not in _NO_CLAIM else None


def checked_media_type(head: bytes, filename: str, declared: str | None = None) -> str:
    """The media type of a file from its first bytes (`head`), if evidence may have it and
    neither its name nor its declared type says it is something else."""
    try:
        media_type = detect_media_type(head)
    except ValidationError as refused:
        sniffed, by_name = sniff(head), claimed_by_name(filename)
        if sniffed is None or by_name is None or _agrees(sniffed, by_name):
            raise
        extension = filename.rpartition(".")[2]
        raise ValidationError.on(
            "file", f"{refused} Its name ends in .{extension}, but that is not what it is."
        ) from None
    check_claims(media_type, filename, declared)
    return media_type


def check_claims(media_type: str, filename: str, declared: str | None) -> None:
    """Refuse the file when its name or its declared type says it is something other than
    `media_type`, what its content is."""
    extension = filename.rpartition(".")[2]
    by_name = claimed_by_name(filename)
    if by_name is not None and not _agrees(media_type, by_name):
        what = "a program or script" if by_name == PROGRAM else describe(by_name)
        _refuse(
            media_type,
            f"its name ends in .{extension}, which stands for {what}",
            "Rename the file to match what it is, or choose the right file.",
        )
    claimed = _canonical((declared or "").split(";")[0].strip().lower())
    if claimed in _NO_CLAIM or (media_type, claimed) in _DECLARED_QUIRKS:
        return
    if not _agrees(media_type, claimed):
        _refuse(
            media_type,
            f"your browser sent it as {describe(claimed)}",
            "Check that this is the file you meant to add.",
        )


def _canonical(media_type: str) -> str:
    return _ALIASES.get(media_type, media_type)


def _agrees(detected: str, claimed: str) -> bool:
    if claimed == detected:
        return True
    return any(detected in family and claimed in family for family in _SAME_CONTAINER)


def _refuse(media_type: str, claim: str, advice: str) -> NoReturn:
    raise ValidationError.on(
        "file",
        f"Not what it says it is: its content is {describe(media_type)}, but {claim}. {advice}",
    )
