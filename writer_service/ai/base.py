"""What the AI providers take and give: plain dataclasses, and the two small protocols they follow.

No tables and no gRPC here: the services map their rows into briefs and the answers back into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ImageFormat = Literal["png", "webp", "jpeg"]
IMAGE_FORMATS: tuple[ImageFormat, ...] = ("png", "webp", "jpeg")
MAX_IMAGE_SIDE = 4096


@dataclass(frozen=True)
class Usage:
    """What one AI call cost: who answered, with which model, tokens each way and wall time."""

    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0


@dataclass(frozen=True)
class ArticleBrief:
    """Everything the writer knows about the article a task asks for."""

    title: str
    primary_keyword: str
    keywords: list[str] = field(default_factory=list)
    cluster_name: str = ""
    content_type: str = "post"
    content_structure: str = "article"
    word_count_target: int = 1000
    taxonomy_terms: list[str] = field(default_factory=list)
    site_name: str = ""
    sector_name: str = ""
    description: str = ""


@dataclass(frozen=True)
class GeneratedArticle:
    """An article as a provider wrote it: HTML body (no H1: the title is separate) and SEO fields."""

    title: str
    html: str
    meta_title: str
    meta_description: str
    primary_keyword: str
    secondary_keywords: list[str]
    usage: Usage


@dataclass(frozen=True)
class ImagePromptBrief:
    """What the image prompts of one content are written from."""

    content_title: str
    primary_keyword: str
    keywords: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # the content's H2 headings, in order
    max_in_article: int = 3


@dataclass(frozen=True)
class ImagePromptDraft:
    """One image to make: the prompt for the renderer and the text that goes with the image."""

    prompt: str
    alt_text: str
    caption: str
    heading: str | None  # the H2 the image illustrates; None for the featured image
    position: int  # 0 for the featured image, 1.. for in-article images in heading order


@dataclass(frozen=True)
class ImagePrompts:
    """The featured image prompt and up to max_in_article in-article prompts."""

    featured: ImagePromptDraft
    in_article: list[ImagePromptDraft]
    usage: Usage


@dataclass(frozen=True)
class ImageRequest:
    """One image to render at a given size and file format."""

    prompt: str
    width: int
    height: int
    format: ImageFormat = "png"

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS:
            raise ValueError(f"image format {self.format!r} is not one of {', '.join(IMAGE_FORMATS)}")
        for side, value in (("width", self.width), ("height", self.height)):
            if not 1 <= value <= MAX_IMAGE_SIDE:
                raise ValueError(f"image {side} {value} is outside 1-{MAX_IMAGE_SIDE} pixels")


@dataclass(frozen=True)
class RenderedImage:
    """The encoded image file, with its real format and size."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    usage: Usage


class TextProvider(Protocol):
    """Writes articles and image prompts."""

    name: str
    model: str

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        """The article the brief asks for; raises ProviderError when the provider fails."""
        ...

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        """A featured prompt and in-article prompts; raises ProviderError when the provider fails."""
        ...


class ImageProvider(Protocol):
    """Renders images from prompts."""

    name: str
    model: str

    async def render(self, request: ImageRequest) -> RenderedImage:
        """The image file; raises ProviderError when the provider fails."""
        ...
