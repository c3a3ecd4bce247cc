"""Sweeping media files nothing refers to: files a process stored but died before recording, and
staged parts of uploads it never finished. Every file an image row names stays, deleted images' too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from igny8.writer.v1 import images_pb2
from tests.conftest import TenantFactory
from tests.e2e.process import PROJECT_ROOT, cli, embedded_env
from tests.factories.images import image_bytes, images_stub, make_image, upload_file
from writer_service.db.database import Database
from writer_service.services.media_sweep import sweep_media
from writer_service.storage.local import STAGING_DIR, LocalMediaStorage

HOUR = 3600.0


def aged(path: Path, *, hours: float, data: bytes = b"x" * 10) -> Path:
    """Write `path` (unless it exists) and make it `hours` old."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    then = time.time() - hours * HOUR
    os.utime(path, (then, then))
    return path


@pytest.mark.asyncio(loop_scope="session")
async def test_old_unreferenced_files_go_and_every_named_or_recent_file_stays(
    channel: grpc.aio.Channel, db: Database, tenants: TenantFactory, media_root: Path
) -> None:
    owner = await tenants.account()
    kept_image = await make_image(channel, owner)
    kept = await upload_file(channel, owner, kept_image.id, image_bytes(), etag=kept_image.etag)
    deleted_image = await make_image(channel, owner)
    deleted = await upload_file(channel, owner, deleted_image.id, image_bytes(), etag=deleted_image.etag)
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=deleted.id), metadata=owner.metadata())
    named = [aged(media_root / kept.image_path, hours=48), aged(media_root / deleted.image_path, hours=48)]
    folder = media_root / "images" / str(owner.account_id) / str(kept.id)
    orphan = aged(folder / "0123abcd.png", hours=48)  # stored, then its process died
    recent = aged(folder / "4567ef01.png", hours=0.1)  # maybe a write in flight
    part = aged(media_root / STAGING_DIR / "89ab.part", hours=48, data=b"y" * 7)
    storage = LocalMediaStorage(media_root)

    counted = await sweep_media(db, storage, older_than_seconds=24 * HOUR, dry_run=True)
    assert counted.unreferenced >= 2 and counted.bytes >= 17 and not counted.removed
    assert orphan.exists() and part.exists()

    swept = await sweep_media(db, storage, older_than_seconds=24 * HOUR)
    assert swept.removed and swept.unreferenced == counted.unreferenced
    assert not orphan.exists() and not part.exists()
    assert all(path.exists() for path in named) and recent.exists()
    assert (await sweep_media(db, storage, older_than_seconds=24 * HOUR)).unreferenced == 0


def test_the_admin_command_sweeps_and_refuses_a_window_of_writes_in_flight(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "var")
    orphan = aged(tmp_path / "var" / "media" / "images" / "1" / "1" / "abc.png", hours=48)
    assert cli(env, "admin", "sweep-media", "--dry-run") == {"unreferenced": 1, "bytes": 10, "removed": False}
    assert orphan.exists()
    assert cli(env, "admin", "sweep-media") == {"unreferenced": 1, "bytes": 10, "removed": True}
    assert not orphan.exists()
    done = subprocess.run([sys.executable, "-m", "writer_service.cli", "admin", "sweep-media", "--older-than-hours",
                           "0.5"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"] == "INVALID_ARGUMENT"
