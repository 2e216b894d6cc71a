"""Web forms (Flask-WTF: every form carries a CSRF token; it ships no types, hence the ignores)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class LogoutForm(FlaskForm):  # type: ignore[misc]
    """Logging out changes state, so it is a POST with a CSRF token."""
