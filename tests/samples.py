"""Small files of many types, made in code, for the evidence tests (no binary fixtures)."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib


def png(padding: int = 0) -> bytes:
    """A valid 1×1 PNG, optionally followed by `padding` deterministic bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    image = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return image + filler(padding)


def filler(size: int, seed: bytes = b"filler") -> bytes:
    block = hashlib.sha512(seed).digest()
    return (block * (size // len(block) + 1))[:size]


def _zip(entries: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries:
            archive.writestr(name, text)
    return buffer.getvalue()


ACCEPTED = {
    "image/png": png(),
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + filler(200),
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer\n%%EOF\n",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _zip(
        [
            ("[Content_Types].xml", "<Types/>"),
            ("_rels/.rels", "<Relationships/>"),
            ("word/document.xml", "<w:document/>"),
        ]
    ),
    "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + filler(200),
    "audio/x-wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + filler(40),
    "text/plain": "Свидетель: «их увезли ночью».\r\nWitness statement, page 1.\n".encode(),
}

REJECTED = {
    "ELF program": (b"\x7fELF\x02\x01\x01\x00" + filler(200), "programs"),
    "Windows program": (b"MZ\x90\x00\x03\x00\x00\x00" + filler(200), "programs"),
    "zip archive": (_zip([("photo.jpg", "not really")]), "archives"),
    "shell script": (b"#!/bin/sh\nrm -rf /\n", "scripts"),
    "unknown binary": (b"\x00\x01\x02\x03garbage" + filler(200), "could not be recognised"),
    "latin-1 text": ("Déclaration du témoin".encode("latin-1"), "could not be recognised"),
}
