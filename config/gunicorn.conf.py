"""gunicorn settings for Incidents behind nginx: `gunicorn -c config/gunicorn.conf.py
incidents.wsgi:app`. The README's "Deploying" section has the systemd unit and the nginx
site that go with it.

Environment, all optional: GUNICORN_BIND (default 127.0.0.1:8000: only nginx on this
host connects), WEB_CONCURRENCY (workers; default 2 x cores + 1), GUNICORN_THREADS
(threads per worker; default 4), GUNICORN_FORWARDED_ALLOW_IPS (the proxies whose
X-Forwarded-Proto gunicorn believes; default loopback), GUNICORN_ACCESS_LOG (a path, or
"-" for standard output, the default; journald keeps it).
"""

from __future__ import annotations

import multiprocessing
import os
import re

from gunicorn import glogging

wsgi_app = "incidents.wsgi:app"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Threads, not sync workers: exports and evidence downloads are streamed unbuffered
# through nginx (so that a large file never waits on the proxy's disk), and a slow
# client holds its thread for the whole download. With sync workers a few such
# downloads would occupy every worker and stop logins; with threads they occupy one
# thread each. gthread also leaves `timeout` to the worker's heartbeat, not to each
# request, so a long download is never killed halfway. CPU-bound work (Argon2,
# decryption) still runs one at a time per worker: the workers give the parallelism.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# No preloading: each worker imports incidents.wsgi after the fork and builds its own
# application. A preloaded app would open its database connection (create_app checks it)
# and Redis pool in the master and hand the same sockets to every worker, which then
# interleave each other's queries; and the key file and signing key would be read once
# for the master's lifetime. Without it, `systemctl reload` (HUP) starts fresh workers
# that read the code, the settings and the key files again. The cost is a few seconds of
# start-up per worker and memory not shared between workers.
preload_app = False

# gthread: seconds a worker may go without its heartbeat before the master restarts it
# (a stuck worker, not a long request). Graceful: on reload or stop, in-flight uploads
# and downloads get this long to finish.
timeout = 60
graceful_timeout = 120
# nginx keeps connections to gunicorn open (its upstream keepalive); a little longer
# than nginx's own idle time, so gunicorn is not the one closing mid-request.
keepalive = 75
# Heartbeat files in memory: a worker's heartbeat must not wait on a busy disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (no data)

# The proxies whose X-Forwarded-Proto (https) gunicorn believes; the application reads
# X-Forwarded-For itself, as many hops as trusted_proxies says (werkzeug ProxyFix).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The access log names no query string and no referrer (either may carry a search
# term or a token), and no secret path segment: the calendar feed's URL is its token.
# The client address is nginx's X-Forwarded-For.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms %(p)s'
errorlog = "-"
loglevel = "info"
# Not used: systemd sends the master its signals; no control socket left in a home folder.
control_socket_disable = True
proc_name = "incidents"

# Paths whose last segment is a secret, shown with it replaced.
SECRET_PATHS = re.compile(r"^(/calendar/)[^/]+$")
# Header atoms that carry credentials or another page's query string: never available
# to the format, so that a format edited later cannot log them either.
SECRET_HEADERS = ("{cookie}i", "{authorization}i", "{referer}i", "{set-cookie}o")


def without_secrets(path: str) -> str:
    """`path` as the access log shows it: a secret segment replaced by "…"."""
    return SECRET_PATHS.sub(r"\1…", path)


class AccessLog(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with the path's secret segments taken out of every atom that
    carries the path, and no query string, referrer, cookie or Authorization header."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = {
            name: value
            for name, value in super().atoms(resp, req, environ, request_time).items()
            # The WSGI environment's atoms repeat the query string, the cookie and more.
            if not name.endswith("}e") and name not in SECRET_HEADERS
        }
        path = without_secrets(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        return atoms


logger_class = AccessLog
