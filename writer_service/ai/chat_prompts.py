"""What a chat model is asked (JSON only, with a described schema) and how its answer is checked.

Any answer that is not the JSON object described, or lacks a field, is a BadProviderResponse.
"""

from __future__ import annotations

import json
import re
from typing import Any

from writer_service.ai.base import (
    ArticleBrief,
    GeneratedArticle,
    ImagePromptBrief,
    ImagePromptDraft,
    ImagePrompts,
    Usage,
)
from writer_service.ai.errors import BadProviderResponse

STRUCTURE_GUIDES = {
    "article": "an informative article: an introduction, themed H2 sections and a conclusion",
    "listicle": "a list article: an introduction, numbered H2 items (1., 2., ...) each explained, a conclusion",
    "how_to": "a how-to: what you need (a list), the steps at a glance (an <ol>), one H2 per step, tips",
    "comparison": "a comparison: a <table> of the options, one H2 per option, how to choose, a verdict",
    "review": "a review: overview, key features, pros and cons as two lists, value for money, a verdict with a rating",
    "landing_page": "a landing page: hero with a call to action, benefits, how it works, FAQs, a last call to action",
    "guide": "an in-depth guide: a table of contents, chapters with H3 subsections, FAQs, next steps",
}

ARTICLE_SYSTEM = """You are an expert SEO content writer. Answer with one JSON object and nothing else, with these keys:
- "title": string, the article title, containing the primary keyword
- "html": string, the article body as HTML: no <html>, <head>, <body> or <h1> (the title is separate); text in <p>; \
<h2>/<h3> subheadings at least every 250 words; lists and tables where the structure calls for them
- "meta_title": string, at most 60 characters
- "meta_description": string, 121 to 155 characters, containing the primary keyword
- "primary_keyword": string, the primary keyword of the brief
- "secondary_keywords": array of strings, the other keywords the article uses
Rules: put the primary keyword in the first paragraph and in at least one H2; keep it between 0.5% and 3% of the \
words; use the other keywords naturally; write close to the requested number of words; follow the structure given."""

IMAGE_PROMPTS_SYSTEM = """You write prompts for an image generator. Answer with one JSON object and nothing else:
{"featured": {"prompt": string, "alt_text": string, "caption": string},
 "in_article": [{"heading": string, "prompt": string, "alt_text": string, "caption": string}, ...]}
"featured" illustrates the whole article; "in_article" has one entry per listed heading, in the same order, at \
most the number asked for. Each prompt describes a photograph or illustration in one or two sentences, with no text \
in the image. Each alt_text describes the image in under 125 characters and contains the primary keyword."""

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def article_messages(brief: ArticleBrief) -> list[dict[str, str]]:
    """The system and user messages that ask for an article."""
    lines = [
        f"Title: {brief.title}",
        f"Primary keyword: {brief.primary_keyword}",
        f"Other keywords: {', '.join(brief.keywords) or '(none)'}",
        f"Topic cluster: {brief.cluster_name or '(none)'}",
        f"Content type: {brief.content_type}",
        f"Structure: {STRUCTURE_GUIDES.get(brief.content_structure, STRUCTURE_GUIDES['article'])}",
        f"Length: about {brief.word_count_target or 1000} words",
        f"Categories and tags: {', '.join(brief.taxonomy_terms) or '(none)'}",
        f"Website: {brief.site_name or '(unnamed)'}; sector: {brief.sector_name or '(general)'}",
    ]
    if brief.description:
        lines.append(f"Notes: {brief.description}")
    return [{"role": "system", "content": ARTICLE_SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def image_prompt_messages(brief: ImagePromptBrief) -> list[dict[str, str]]:
    """The system and user messages that ask for image prompts."""
    headings = brief.headings[:max(0, brief.max_in_article)]
    lines = [
        f"Article title: {brief.content_title}",
        f"Primary keyword: {brief.primary_keyword}",
        f"Other keywords: {', '.join(brief.keywords) or '(none)'}",
        f"In-article images: {len(headings)}, one for each of these headings:",
        *(f"- {heading}" for heading in headings),
    ]
    return [{"role": "system", "content": IMAGE_PROMPTS_SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def json_object(content: str | None) -> dict[str, Any]:
    """The JSON object a model answered (a ```json fence around it is tolerated)."""
    if not content or not content.strip():
        raise BadProviderResponse("the model answered with no content")
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadProviderResponse(f"the model's answer is not valid JSON ({exc}); it began {content[:80]!r}") from exc
    if not isinstance(data, dict):
        raise BadProviderResponse(f"the model answered JSON {type(data).__name__}, not an object")
    return data


def _text(data: dict[str, Any], key: str, where: str = "the answer", *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadProviderResponse(f"{where} has no {key!r} text")
    return value.strip()


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadProviderResponse(f"the answer's {key!r} is not a list of strings")
    return [item.strip() for item in value if item.strip()]


def article_from(data: dict[str, Any], usage: Usage) -> GeneratedArticle:
    """The article in a model's JSON answer; secondary_keywords may be missing (no other keywords)."""
    return GeneratedArticle(
        title=_text(data, "title"),
        html=_text(data, "html"),
        meta_title=_text(data, "meta_title"),
        meta_description=_text(data, "meta_description"),
        primary_keyword=_text(data, "primary_keyword"),
        secondary_keywords=_strings(data, "secondary_keywords"),
        usage=usage,
    )


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadProviderResponse(f"{where} is not a JSON object")
    return value


def _draft(item: dict[str, Any], where: str, heading: str | None, position: int) -> ImagePromptDraft:
    return ImagePromptDraft(
        prompt=_text(item, "prompt", where),
        alt_text=_text(item, "alt_text", where),
        caption=_text(item, "caption", where, required=False),
        heading=heading,
        position=position,
    )


def image_prompts_from(data: dict[str, Any], brief: ImagePromptBrief, usage: Usage) -> ImagePrompts:
    """The prompts in a model's JSON answer, at most max_in_article, numbered in heading order."""
    featured = _draft(_object(data.get("featured"), "'featured'"), "'featured'", None, 0)
    items = data.get("in_article", [])
    if not isinstance(items, list):
        raise BadProviderResponse("the answer's 'in_article' is not a list")
    headings = brief.headings[:max(0, brief.max_in_article)]
    drafts = []
    for i, item in enumerate(items[:len(headings)]):
        where = f"in_article[{i}]"
        item = _object(item, where)
        heading = _text(item, "heading", where, required=False) or headings[i]
        drafts.append(_draft(item, where, heading, i + 1))
    return ImagePrompts(featured=featured, in_article=drafts, usage=usage)
