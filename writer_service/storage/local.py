"""Media files in a local directory (the default store): safe keys, atomic writes, chunked reads.

Files are staged in `<root>/.staging/` (same filesystem) and moved into place with `os.replace`,
so a reader sees either the old file or the whole new one. Every key is checked, resolved
(symlinks followed) and must land inside the root; reads open the resolved path without
following a last-moment symlink. Blocking file calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from writer_service.storage.media import MediaNotFound, StagedFile, UnsafeKey, check_key

STAGING_DIR = ".staging"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LocalStagedFile:
    """A temporary file under the staging directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = path.open("xb")
        self._size = 0
        self.committed = False

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    async def write(self, data: bytes) -> None:
        """Append bytes."""
        if self._file is None:
            raise RuntimeError("staged file is closed")
        await asyncio.to_thread(self._file.write, data)
        self._size += len(data)

    def open_read(self) -> BinaryIO:
        """A blocking reader of what was written so far."""
        if self._file is not None:
            self._file.flush()
        return self.path.open("rb")

    def finish(self) -> None:
        """Flush to disk and close (blocking)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Close and remove, unless committed (blocking)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self.committed:
            self.path.unlink(missing_ok=True)


class LocalMediaReader:
    """An open file of the store."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._size = size

    @property
    def size(self) -> int:
        """Size of the opened file in bytes."""
        return self._size

    async def chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        """The file's bytes, in order, at most `chunk_size` at a time."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        while data := await asyncio.to_thread(self._file.read, chunk_size):
            yield data

    async def close(self) -> None:
        """Release the file."""
        self._file.close()


def _open_regular(path: Path) -> LocalMediaReader:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise MediaNotFound(str(path)) from None
    except OSError as error:  # ELOOP: a symlink swapped in after the key was resolved
        raise UnsafeKey(f"cannot open {path.name}: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise MediaNotFound(str(path))
    return LocalMediaReader(os.fdopen(fd, "rb"), info.st_size)


class LocalMediaStorage:
    """A MediaStorage over one directory, the media root."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def path_of(self, key: str) -> Path:
        """The file path of a key, resolved; UnsafeKey unless it is a plain path inside the root."""
        check_key(key)
        path = (self.root / key).resolve()
        if path == self.root or not path.is_relative_to(self.root):
            raise UnsafeKey(f"media key leaves the media root: {key!r}")
        if path.relative_to(self.root).parts[0] == STAGING_DIR:
            raise UnsafeKey(f"media key names the staging area: {key!r}")
        return path

    def _new_staged(self) -> LocalStagedFile:
        directory = self.root / STAGING_DIR
        directory.mkdir(parents=True, exist_ok=True)
        return LocalStagedFile(directory / f"{uuid.uuid4().hex}.part")

    @contextlib.asynccontextmanager
    async def staging(self) -> AsyncIterator[LocalStagedFile]:
        """A new staged file, removed when the block ends unless committed."""
        staged = await asyncio.to_thread(self._new_staged)
        try:
            yield staged
        finally:
            await asyncio.to_thread(staged.discard)

    async def commit(self, staged: StagedFile, key: str) -> None:
        """Move the staged file under `key` atomically, replacing any file there."""
        if not isinstance(staged, LocalStagedFile):
            raise TypeError("not a file staged by this store")
        target = self.path_of(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.finish()
            os.replace(staged.path, target)
            staged.committed = True

        await asyncio.to_thread(move)

    async def save(self, key: str, data: bytes) -> None:
        """Write `data` under `key`, atomically."""
        self.path_of(key)
        async with self.staging() as staged:
            await staged.write(data)
            await self.commit(staged, key)

    async def open(self, key: str) -> LocalMediaReader:
        """Open the file under `key`; MediaNotFound when there is none."""
        path = self.path_of(key)
        return await asyncio.to_thread(_open_regular, path)

    async def delete(self, key: str) -> None:
        """Remove the file under `key` (nothing when there is none)."""
        path = self.path_of(key)
        await asyncio.to_thread(functools.partial(path.unlink, missing_ok=True))

    async def files_before(self, prefix: str, cutoff: float) -> list[tuple[str, int]]:
        """(key, size) of every regular file under `prefix` (a key, or STAGING_DIR) last modified
        before `cutoff` (a Unix time). Symlinks are not followed."""
        if prefix != STAGING_DIR:
            check_key(prefix)
        top = self.root / prefix

        def walk() -> list[tuple[str, int]]:
            found: list[tuple[str, int]] = []
            for directory, _dirs, names in os.walk(top):
                for name in names:
                    path = Path(directory) / name
                    facts = path.lstat()
                    if stat.S_ISREG(facts.st_mode) and facts.st_mtime < cutoff:
                        found.append((path.relative_to(self.root).as_posix(), facts.st_size))
            return found

        return await asyncio.to_thread(walk)

    async def discard(self, key: str) -> None:
        """Remove a file found by files_before, the staging area's included (nothing when gone)."""
        path = self.root / key  # the entry itself, not what a symlink points at
        resolved = path.resolve()
        if resolved == self.root or not resolved.is_relative_to(self.root):
            raise UnsafeKey(f"media key leaves the media root: {key!r}")
        await asyncio.to_thread(functools.partial(path.unlink, missing_ok=True))

    async def exists(self, key: str) -> bool:
        """Whether a regular file is stored under `key`."""
        path = self.path_of(key)
        return await asyncio.to_thread(path.is_file)
