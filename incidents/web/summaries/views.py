"""Redacted case summaries."""

from flask import Blueprint

blueprint = Blueprint("summaries", __name__)
