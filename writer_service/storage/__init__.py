"""Media files: a small store protocol, the local-directory store, and image inspection."""

from writer_service.storage.inspect import ImageFacts, NotAnImage, inspect_image
from writer_service.storage.local import LocalMediaStorage
from writer_service.storage.media import MediaNotFound, MediaReader, MediaStorage, StagedFile, UnsafeKey, check_key

__all__ = [
    "ImageFacts",
    "LocalMediaStorage",
    "MediaNotFound",
    "MediaReader",
    "MediaStorage",
    "NotAnImage",
    "StagedFile",
    "UnsafeKey",
    "check_key",
    "inspect_image",
]
