"""What the service asks of a media store: keys it generates, atomic writes, chunked reads, deletes.

Keys are relative POSIX paths the service builds itself (`images/<account>/<image>/<uuid>.png`),
never text from a caller. A key read back from the database is checked again before use: a row
tampered to `../../etc/passwd` is refused with `UnsafeKey`, so nothing outside the store is read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import BinaryIO, Protocol

MAX_KEY_LENGTH = 1024
# One path segment: letters, digits, "_", "-" and ".", not starting with "." (so no "..", no
# hidden files, and the store's own ".staging" area cannot be named).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


class UnsafeKey(ValueError):
    """A key that is not a plain relative path inside the store."""


class MediaNotFound(LookupError):
    """No file under this key."""


def check_key(key: str) -> str:
    """The key itself if it is a safe relative path (segments of plain characters); UnsafeKey otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise UnsafeKey(f"bad media key length: {len(key)}")
    segments = key.split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise UnsafeKey(f"unsafe media key: {key!r}")
    return key


class StagedFile(Protocol):
    """A file being written: invisible under any key until the store commits it."""

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    async def write(self, data: bytes) -> None:
        """Append bytes."""
        ...

    def open_read(self) -> BinaryIO:
        """A blocking binary reader of what was written (for inspection in a worker thread)."""
        ...


class MediaReader(Protocol):
    """An open stored file; its size is that of the file actually opened."""

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        ...

    def chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        """The file's bytes, in order, at most `chunk_size` at a time."""
        ...

    async def close(self) -> None:
        """Release the file."""
        ...


class MediaStorage(Protocol):
    """Where media files live."""

    def staging(self) -> AbstractAsyncContextManager[StagedFile]:
        """A new staged file; dropped when the block ends unless `commit` took it."""
        ...

    async def commit(self, staged: StagedFile, key: str) -> None:
        """Make the staged file visible under `key`, atomically (replacing any file there)."""
        ...

    async def save(self, key: str, data: bytes) -> None:
        """Write `data` under `key`, atomically."""
        ...

    async def open(self, key: str) -> MediaReader:
        """Open the file under `key`; MediaNotFound when there is none, UnsafeKey for a bad key."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file under `key` (nothing when there is none)."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        ...
