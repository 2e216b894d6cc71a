"""The WSGI entry point: `gunicorn -c config/gunicorn.conf.py incidents.wsgi:app`.

Importing it builds the application from the settings (INCIDENTS_CONFIG, INCIDENTS_*), so
a broken configuration stops the worker at once with the same one line as any command.
gunicorn imports it in each worker after the fork (config/gunicorn.conf.py explains
why), so every worker has its own database pool, Redis connections and key file state.
"""

from __future__ import annotations

from incidents import create_app

app = create_app()
