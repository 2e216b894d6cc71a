"""A base for objects that hold a file or stream open and release it on `with` exit."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosesOnExit:
    """`with obj:` calls obj.close() on the way out, whether or not an error was raised."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class KeptOnSuccess(ClosesOnExit):
    """A write that `with obj:` keeps (obj.close()) when the block ends normally, and
    throws away (obj.discard()) when it raises: half a stored file is never kept."""

    def discard(self) -> None:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
