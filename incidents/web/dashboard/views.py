"""The advocacy dashboard and the calendar feed of follow-ups."""

from flask import Blueprint

blueprint = Blueprint("dashboard", __name__)
