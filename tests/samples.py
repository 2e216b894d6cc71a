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


def jpeg() -> bytes:
    """A valid baseline JPEG: one 8×8 block of mid grey (every coefficient zero), with
    Huffman tables of one code each — the smallest file a JPEG decoder shows."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    return (
        b"\xff\xd8"  # start of image
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table 0: all ones
        + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")  # 8×8, one component
        + segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")  # DC: category 0
        + segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")  # AC: end of block
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # DC difference 0 ("0"), end of block ("0"), padded with ones
        + b"\xff\xd9"  # end of image
    )


def pdf(text: str = "Witness statement (fictional)") -> bytes:
    """A valid one-page PDF 1.4 showing `text`, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


HTML_PAGE = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG_IMAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>\n'
)
# Files that are an accepted type by their magic bytes and a page with a script too.
POLYGLOTS = {
    "GIF with a script": b"GIF89a/*\x01\x00\x01\x00*/=1;<script>alert(1)</script>" + filler(64),
    "PNG with an HTML tail": png() + b"<html><script>alert(1)</script></html>",
    "PDF with an HTML page": pdf().replace(
        b"%PDF-1.4\n", b"%PDF-1.4\n%<html><body><svg onload=alert(1)>\n", 1
    ),
    "JPEG with a script in a comment": jpeg()[:2]
    + b"\xff\xfe\x00\x21<script>alert(1)</script>......"
    + jpeg()[2:],
}
