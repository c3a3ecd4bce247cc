"""The local media store: safe keys only, atomic writes, chunked reads; and image inspection."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from writer_service.storage import (
    LocalMediaStorage,
    MediaNotFound,
    NotAnImage,
    UnsafeKey,
    check_key,
    inspect_image,
)


def image_bytes(kind: str, size: tuple[int, int] = (7, 5)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=kind)
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


async def read_all(store: LocalMediaStorage, key: str, chunk_size: int = 4) -> bytes:
    reader = await store.open(key)
    try:
        return b"".join([chunk async for chunk in reader.chunks(chunk_size)])
    finally:
        await reader.close()


@pytest.mark.parametrize("key", [
    "", "/etc/passwd", "../etc/passwd", "images/../../etc/passwd", "images/./a.png", "images//a.png",
    ".staging/x.part", "images/.hidden", "images\\a.png", "images/a.png\x00", "a" * 1100, "images/a b.png",
])
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(UnsafeKey):
        check_key(key)


def test_generated_keys_are_accepted() -> None:
    assert check_key("images/12/345/0f3c.png") == "images/12/345/0f3c.png"


async def test_save_then_read_in_chunks_gives_the_same_bytes(store: LocalMediaStorage) -> None:
    data = os.urandom(1000)
    await store.save("images/1/2/a.bin", data)
    assert await read_all(store, "images/1/2/a.bin", chunk_size=64) == data
    reader = await store.open("images/1/2/a.bin")
    assert reader.size == 1000
    await reader.close()


async def test_staged_file_is_invisible_and_gone_when_not_committed(store: LocalMediaStorage) -> None:
    async with store.staging() as staged:
        await staged.write(b"abc")
        assert staged.size == 3
    assert not await store.exists("images/1/2/a.bin")
    assert list((store.root / ".staging").iterdir()) == []


async def test_staged_file_is_removed_when_the_block_fails(store: LocalMediaStorage) -> None:
    with pytest.raises(RuntimeError):
        async with store.staging() as staged:
            await staged.write(b"abc")
            raise RuntimeError("stream broke")
    assert list((store.root / ".staging").iterdir()) == []


async def test_commit_replaces_atomically(store: LocalMediaStorage) -> None:
    await store.save("images/1/2/a.bin", b"old")
    async with store.staging() as staged:
        await staged.write(b"new bytes")
        with staged.open_read() as reader:
            assert reader.read() == b"new bytes"
        await store.commit(staged, "images/1/2/a.bin")
    assert await read_all(store, "images/1/2/a.bin") == b"new bytes"
    assert list((store.root / ".staging").iterdir()) == []


async def test_missing_file_is_media_not_found(store: LocalMediaStorage) -> None:
    with pytest.raises(MediaNotFound):
        await store.open("images/1/2/none.png")


async def test_a_directory_is_not_a_file(store: LocalMediaStorage) -> None:
    await store.save("images/1/2/a.bin", b"x")
    with pytest.raises(MediaNotFound):
        await store.open("images/1/2")


async def test_symlink_leaving_the_root_is_refused(store: LocalMediaStorage, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    (store.root / "images").mkdir(parents=True)
    (store.root / "images" / "link.png").symlink_to(secret)
    with pytest.raises(UnsafeKey):
        await store.open("images/link.png")


async def test_delete_removes_and_tolerates_missing(store: LocalMediaStorage) -> None:
    await store.save("images/1/2/a.bin", b"x")
    await store.delete("images/1/2/a.bin")
    await store.delete("images/1/2/a.bin")
    assert not await store.exists("images/1/2/a.bin")


async def test_tampered_key_is_refused_everywhere(store: LocalMediaStorage) -> None:
    for call in (store.open, store.delete, store.exists):
        with pytest.raises(UnsafeKey):
            await call("../../etc/passwd")


@pytest.mark.parametrize(("kind", "fmt", "mime"), [
    ("PNG", "png", "image/png"), ("JPEG", "jpeg", "image/jpeg"), ("WEBP", "webp", "image/webp"),
])
def test_inspect_reads_format_and_size_from_the_bytes(kind: str, fmt: str, mime: str) -> None:
    facts = inspect_image(io.BytesIO(image_bytes(kind)))
    assert (facts.format, facts.mime_type, facts.width, facts.height) == (fmt, mime, 7, 5)


@pytest.mark.parametrize("data", [b"", b"not an image at all", image_bytes("GIF"), image_bytes("PNG")[:40]],
                         ids=["empty", "text", "gif", "truncated-png"])
def test_inspect_refuses_other_formats_and_damaged_files(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        inspect_image(io.BytesIO(data))
