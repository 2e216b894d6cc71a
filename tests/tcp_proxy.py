"""A TCP proxy in a thread, to take a database away from a running application and give
it back: `cut()` closes every connection and stops accepting; `restore()` accepts again.

The application is given the proxy's address instead of the server's, so what it sees
when the proxy is cut is exactly what it sees when the server or the network goes away.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from types import TracebackType
from typing import Self

_CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`, one thread per direction per connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Event()
        self._accepting.set()
        self._listening = threading.Event()  # the port is open
        self._listening.set()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.connections_made = 0
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            if not self._accepting.is_set():
                # Down: nothing listens on the port, so a connection is refused at once,
                # as by a server that is not running.
                self._listener.close()
                self._listening.clear()
                while not self._accepting.wait(timeout=0.05):
                    if self._stopped.is_set():
                        return
                self._listener = socket.create_server(("127.0.0.1", self.port))
                self._listening.set()
            self._accept_while_up()

    def _accept_while_up(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while self._accepting.is_set() and not self._stopped.is_set():
                if not selector.select(timeout=0.05):
                    continue
                try:
                    client, _ = self._listener.accept()
                except OSError:
                    continue
                try:
                    server = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                with self._lock:
                    self._open.update((client, server))
                    self.connections_made += 1
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _close(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._open.discard(sock)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def cut(self) -> None:
        """Close every connection through the proxy and refuse new ones."""
        self._accepting.clear()
        while self._listening.is_set() and self._thread.is_alive():
            time.sleep(0.01)  # the accepting loop notices within 50 ms and closes the port
        with self._lock:
            sockets = list(self._open)
        self._close(*sockets)

    def restore(self) -> None:
        """Accept connections again (the database is back)."""
        self._accepting.set()
        self._listening.wait(timeout=5)

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
