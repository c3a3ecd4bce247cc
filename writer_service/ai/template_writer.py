"""The offline template writer: the embedded default text provider. No network, deterministic.

The same brief always gives the same bytes: every choice is seeded from a hash of the brief.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict

from writer_service.ai.base import (
    ArticleBrief,
    GeneratedArticle,
    ImagePromptBrief,
    ImagePromptDraft,
    ImagePrompts,
    Usage,
)
from writer_service.ai.template_outline import outline
from writer_service.ai.template_prose import Context, Prose, Tally, capitalize
from writer_service.ai.template_render import BodyRenderer
from writer_service.domain.html_text import contains, count_words, words
from writer_service.domain.pricing import Prices

TOKENS_PER_WORD = 1.3
MIN_TARGET_WORDS = 150
META_TITLE_MAX = 60
META_TITLE_MIN = 30
META_DESCRIPTION_MIN = 121
META_DESCRIPTION_MAX = 156
# What a body of each structure is called: in a sentence, and at the end of a title.
STRUCTURE_NOUNS = {
    "article": ("a practical guide", "A Practical Guide"),
    "listicle": ("a list of proven ideas", "Proven Ideas"),
    "how_to": ("a step-by-step guide", "A Step-by-Step Guide"),
    "comparison": ("a side-by-side comparison", "Compared"),
    "review": ("an honest review", "An Honest Review"),
    "landing_page": ("an overview", "An Overview"),
    "guide": ("an in-depth guide", "The In-Depth Guide"),
}
DESCRIPTION_CLAUSES = (" with clear advice for {audience}", ", practical tips you can use today",
                       " and the mistakes to avoid")
DESCRIPTION_FILLERS = (" Read on to learn more.", " Easy to follow.", " Start today.")
IMAGE_STYLES = ("clean editorial photograph", "soft watercolour illustration", "bright flat vector illustration",
                "warm documentary-style photograph", "minimal isometric illustration")


def _seed(*parts: object) -> int:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _tokens(text: str) -> int:
    return round(len(words(text)) * TOKENS_PER_WORD)


def _trim(text: str, limit: int) -> str:
    """The text cut at a word boundary to at most `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit + 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head.rstrip(" ,:;-–")[:limit]


def context_of(brief: ArticleBrief) -> Context:
    """The words the templates borrow from the brief."""
    keyword = " ".join(brief.primary_keyword.split()) or " ".join(brief.title.split())
    secondary = secondary_keywords(brief)
    cluster = brief.cluster_name.strip()
    sector = brief.sector_name.strip()
    return Context(
        keyword=keyword,
        secondary=tuple(secondary),
        topic=cluster if cluster and not contains(keyword, cluster) else "this topic",
        audience=f"people working in {sector.lower()}" if sector else "most readers",
        site=brief.site_name.strip() or "our team",
        sector=sector.lower() or "this field",
        title=brief.title.strip(),
    )


def secondary_keywords(brief: ArticleBrief) -> list[str]:
    """The brief's keywords other than the primary one, once each, in order."""
    seen = {brief.primary_keyword.strip().lower()}
    found = []
    for keyword in brief.keywords:
        keyword = " ".join(keyword.split())
        if keyword and keyword.lower() not in seen:
            seen.add(keyword.lower())
            found.append(keyword)
    return found


def _nouns(structure: str) -> tuple[str, str]:
    return STRUCTURE_NOUNS.get(structure, STRUCTURE_NOUNS["article"])


def article_title(brief: ArticleBrief, context: Context) -> str:
    """The brief's title, led by the primary keyword when it does not contain it."""
    title = " ".join(brief.title.split())
    if not title:
        return f"{capitalize(context.keyword)}: {_nouns(brief.content_structure)[0]}"
    return title if contains(context.keyword, title) else f"{capitalize(context.keyword)}: {title}"


def meta_title(title: str, brief: ArticleBrief, context: Context) -> str:
    """A search title of 30-60 characters where the inputs allow."""
    keyword, suffix = capitalize(context.keyword), _nouns(brief.content_structure)[1]
    if len(title) > META_TITLE_MAX:
        candidates = [f"{keyword}: {suffix}", keyword]
        title = next((c for c in candidates if len(c) <= META_TITLE_MAX), _trim(title, META_TITLE_MAX))
    if len(title) < META_TITLE_MIN:
        site = brief.site_name.strip()
        longer = [f"{title} | {site}", f"{title} – {suffix}", f"{title} – {suffix} | {site}"] if site else \
            [f"{title} – {suffix}"]
        fitting = [c for c in longer if c and len(c) <= META_TITLE_MAX]
        title = next((c for c in fitting if len(c) >= META_TITLE_MIN), fitting[-1] if fitting else title)
    return title


def meta_description(context: Context, structure: str) -> str:
    """121-156 characters that start with the primary keyword."""
    text = _trim(f"{capitalize(context.keyword)}: {_nouns(structure)[0]}", META_DESCRIPTION_MAX - 1)
    for clause in DESCRIPTION_CLAUSES:
        candidate = text + clause.format(audience=context.audience)
        if len(candidate) + 1 <= META_DESCRIPTION_MAX:
            text = candidate
    text += "."
    for filler in DESCRIPTION_FILLERS:
        if len(text) >= META_DESCRIPTION_MIN:
            break
        if len(text + filler) <= META_DESCRIPTION_MAX:
            text += filler
    return text


class TemplateWriter:
    """Writes articles and image prompts from templates, shaped by the content structure."""

    name = "template"
    model = "template-v1"

    def __init__(self, prices: Prices | None = None) -> None:
        self.prices = prices or Prices()

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        """An article of about the target length that passes the content checks."""
        started = time.perf_counter()
        return self.article(brief, started=started)

    def article(self, brief: ArticleBrief, *, started: float | None = None) -> GeneratedArticle:
        """The synchronous work of write_article."""
        started = time.perf_counter() if started is None else started
        context = context_of(brief)
        rng = random.Random(_seed(asdict(brief)))
        target = max(MIN_TARGET_WORDS, self.prices.target_words(brief.word_count_target))
        tally = Tally()
        sections = outline(brief.content_structure, context, target, rng)
        body = BodyRenderer(context, Prose(context, rng, tally), tally).render(sections, target)
        title = article_title(brief, context)
        description = meta_description(context, brief.content_structure)
        seo_title = meta_title(title, brief, context)
        usage = Usage(
            provider=self.name, model=self.model,
            tokens_in=_tokens(json.dumps(asdict(brief))),
            tokens_out=round((count_words(body) + len(words(f"{title} {seo_title} {description}"))) * TOKENS_PER_WORD),
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        return GeneratedArticle(title=title, html=body, meta_title=seo_title, meta_description=description,
                                primary_keyword=context.keyword, secondary_keywords=list(context.secondary),
                                usage=usage)

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        """A featured prompt from the title and one prompt per heading, up to max_in_article."""
        started = time.perf_counter()
        rng = random.Random(_seed(asdict(brief)))
        style = rng.choice(IMAGE_STYLES)
        keyword = " ".join(brief.primary_keyword.split()) or " ".join(brief.content_title.split())
        extras = [k for k in brief.keywords if k.strip() and k.strip().lower() != keyword.lower()]
        featured = ImagePromptDraft(
            prompt=f"{style} of {keyword}, illustrating \"{brief.content_title}\""
                   f"{', with hints of ' + ', '.join(extras[:2]) if extras else ''}; wide composition, no text",
            alt_text=f"{capitalize(keyword)}: {brief.content_title}",
            caption=brief.content_title,
            heading=None,
            position=0,
        )
        in_article = [
            ImagePromptDraft(
                prompt=f"{style} showing {heading.lower()}, in the context of {keyword}; no text",
                alt_text=f"{capitalize(keyword)}: {heading}",
                caption=heading,
                heading=heading,
                position=i,
            )
            for i, heading in enumerate(brief.headings[:max(0, brief.max_in_article)], 1)
        ]
        prompts_text = " ".join(d.prompt for d in [featured, *in_article])
        usage = Usage(provider=self.name, model=self.model, tokens_in=_tokens(json.dumps(asdict(brief))),
                      tokens_out=_tokens(prompts_text), duration_ms=round((time.perf_counter() - started) * 1000))
        return ImagePrompts(featured=featured, in_article=in_article, usage=usage)
