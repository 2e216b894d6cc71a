"""The advocacy area's one blueprint, shared by its page modules."""

from flask import Blueprint

blueprint = Blueprint("advocacy", __name__)
