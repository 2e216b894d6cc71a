"""The guides inside the application (the researcher's, the advocacy lead's): the steps of
the README's guides, with
the screenshots the browser tests take (incidents/web/static/guide/). It reads nothing
from the database, so every logged-in user may open it; logging in is still required,
as for every page that is not explicitly public."""

from __future__ import annotations

import struct
from pathlib import Path

from flask import Blueprint, current_app, render_template

blueprint = Blueprint("help", __name__)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@blueprint.route("/help")
def guide() -> str:
    return render_template("help/guide.html", sizes=_picture_sizes())


@blueprint.route("/help/advocacy")
def advocacy_guide() -> str:
    return render_template("help/advocacy.html", sizes=_picture_sizes())


def _picture_sizes() -> dict[str, tuple[int, int]]:
    """Width and height of each guide picture, from its PNG header: given to the <img>,
    the page keeps its place while the pictures load instead of jumping."""
    folder = Path(current_app.static_folder or "") / "guide"
    sizes = {}
    for picture in folder.glob("*.png"):
        with picture.open("rb") as file:
            header = file.read(24)
        if header.startswith(_PNG_SIGNATURE):
            sizes[picture.stem] = struct.unpack(">II", header[16:24])
    return sizes
