"""Where the project's non-Python files live, installed from a wheel or from a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` (templates, config, migrations) for this installation."""
    packaged = _PACKAGE / "_data" / name  # inside a wheel
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE.parent / name  # editable install or a plain checkout
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"cannot find the '{name}' folder of the incidents package")
