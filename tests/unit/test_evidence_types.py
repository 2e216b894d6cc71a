"""What an evidence file is, from its content, against what its name and the browser say
(security check 28): real small files of each kind, web pages and SVG images under other
names, polyglots, and the Content-Type a download is sent with."""

from __future__ import annotations

import re

import pytest

from incidents.errors import ValidationError
from incidents.services.evidence.claims import checked_media_type, claimed_by_name
from incidents.services.evidence.policy import served_media_type, sniff
from tests import samples

REAL_FILES = {
    "image/png": (samples.png(), "photo.png", "image/png"),
    "image/jpeg": (samples.jpeg(), "IMG_0412.JPG", "image/jpeg"),
    "application/pdf": (samples.pdf(), "statement.pdf", "application/pdf"),
    "text/plain": (samples.ACCEPTED["text/plain"], "statement.txt", "text/plain"),
}


def refusal(content: bytes, filename: str, declared: str | None = None) -> str:
    with pytest.raises(ValidationError) as refused:
        checked_media_type(content, filename, declared)
    assert set(refused.value.errors) == {"file"}, "the message belongs beside the file field"
    return str(refused.value)


@pytest.mark.parametrize("media_type", sorted(REAL_FILES))
def test_real_files_named_and_declared_as_what_they_are(media_type: str) -> None:
    content, filename, declared = REAL_FILES[media_type]
    assert checked_media_type(content, filename, declared) == media_type
    assert checked_media_type(content, filename) == media_type  # the command line
    assert checked_media_type(content, "upload", None) == media_type  # a name without a type


@pytest.mark.parametrize(
    ("content", "filename", "declared"),
    [
        (samples.jpeg(), "photo.jpeg", "image/pjpeg"),  # old Internet Explorer
        (samples.jpeg(), "photo.jfif", "image/jpg"),
        (samples.png(), "PHOTO.PNG", "application/octet-stream"),  # the browser did not know
        (samples.png(), "photo.png", "image/png; charset=binary"),
        (samples.png(), ".png", None),  # a hidden file's name has no extension
        (samples.png(), "photo.backup", None),  # an extension nobody knows says nothing
        (samples.ACCEPTED["text/plain"], "export.csv", "application/vnd.ms-excel"),  # Windows
        (samples.ACCEPTED["text/plain"], "messages.json", "application/json"),
        (samples.ACCEPTED["video/mp4"], "voice memo.m4a", "audio/x-m4a"),  # one container
    ],
    ids=[
        "pjpeg",
        "jfif",
        "octet-stream",
        "parameters",
        "hidden file",
        "unknown extension",
        "csv from windows",
        "json as text",
        "m4a with a video brand",
    ],
)
def test_other_names_for_the_same_content_are_accepted(
    content: bytes, filename: str, declared: str | None
) -> None:
    checked_media_type(content, filename, declared)


@pytest.mark.parametrize("filename", ["photo.png", "page.html", "statement.txt", "scan"])
def test_a_web_page_is_refused_under_any_name(filename: str) -> None:
    message = refusal(samples.HTML_PAGE, filename, "image/png")
    assert "an HTML page (text/html)" in message
    assert "Web pages are not accepted" in message
    if filename == "photo.png":
        assert "Its name ends in .png" in message


@pytest.mark.parametrize(
    "content",
    [
        samples.HTML_PAGE,
        b"\xef\xbb\xbf\r\n  <html>\n<p>a page after a byte order mark and blank lines",
        b"<!-- saved from a browser -->\n<p>hello</p>",
        b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        b"<B>bold words</B> as a browser would show them",
    ],
    ids=["doctype", "bom and blank lines", "comment", "xhtml", "upper case tag"],
)
def test_what_a_browser_would_take_for_html_is_html(content: bytes) -> None:
    assert sniff(content) == "text/html"


@pytest.mark.parametrize("filename", ["logo.svg", "logo.png", "logo.txt"])
def test_an_svg_image_is_refused_under_any_name(filename: str) -> None:
    message = refusal(samples.SVG_IMAGE, filename, "image/svg+xml")
    assert "an SVG image (image/svg+xml)" in message
    assert "can carry scripts" in message


def test_svg_without_an_xml_declaration_and_plain_xml_are_refused() -> None:
    assert "image/svg+xml" in refusal(b"<svg onload=alert(1)>", "a.svg")
    assert "application/xml" in refusal(b'<?xml version="1.0"?><data>1</data>', "data.xml")


@pytest.mark.parametrize("kind", sorted(samples.POLYGLOTS))
def test_a_polyglot_is_refused(kind: str) -> None:
    content = samples.POLYGLOTS[kind]
    detected = sniff(content)
    assert detected in {"image/gif", "image/png", "application/pdf", "image/jpeg"}
    extension = {"image/gif": "gif", "image/png": "png", "application/pdf": "pdf"}
    filename = f"file.{extension.get(detected, 'jpg')}"
    message = refusal(content, filename, None)
    assert f"({detected})" in message
    assert "two things at once" in message
    assert re.search(r"\((<script|<html|<svg)…\)", message), message


def test_markup_inside_a_text_file_is_only_text() -> None:
    # Sent as text/plain with nosniff, a transcript quoting a tag is shown as text.
    content = b"Transcript, page 2.\nThe message read: <script>hello</script>\n"
    assert checked_media_type(content, "transcript.txt", "text/plain") == "text/plain"


@pytest.mark.parametrize(
    ("content", "filename", "detected", "claimed"),
    [
        (samples.jpeg(), "photo.png", "a JPEG image (image/jpeg)", ".png"),
        (samples.png(), "scan.pdf", "a PNG image (image/png)", ".pdf"),
        (samples.pdf(), "statement.docx", "a PDF document (application/pdf)", ".docx"),
        (samples.ACCEPTED["text/plain"], "notes.png", "plain text (text/plain)", ".png"),
    ],
)
def test_a_name_that_says_another_type_is_refused(
    content: bytes, filename: str, detected: str, claimed: str
) -> None:
    message = refusal(content, filename)
    assert f"its content is {detected}" in message
    assert f"its name ends in {claimed}" in message
    assert "Rename the file" in message


@pytest.mark.parametrize("filename", ["photo.exe", "photo.png.scr", "invoice.js", "run.sh"])
def test_a_name_of_a_program_is_refused_whatever_the_content(filename: str) -> None:
    message = refusal(samples.png(), filename, None)
    assert "which stands for a program or script" in message


def test_a_declared_type_that_says_another_type_is_refused() -> None:
    message = refusal(samples.png(), "upload", "application/pdf")
    assert "its content is a PNG image (image/png)" in message
    assert "your browser sent it as a PDF document (application/pdf)" in message


def test_what_names_claim() -> None:
    assert claimed_by_name("IMG.JPEG") == "image/jpeg"
    assert claimed_by_name("photos.zip") == "application/zip"
    assert claimed_by_name("notes.csv") == "text/plain"
    assert claimed_by_name("README") is None
    assert claimed_by_name("file.unknownext") is None
    assert claimed_by_name("x.bin") is None  # "some bytes" claims nothing


@pytest.mark.parametrize(
    ("recorded", "served"),
    [
        ("image/png", "image/png"),
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_a_download_is_never_sent_as_a_page(recorded: str, served: str) -> None:
    assert served_media_type(recorded) == served
