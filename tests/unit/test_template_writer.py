"""The offline template writer: deterministic, shaped by the structure, and passing the content checks."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from writer_service.ai.base import ArticleBrief, ImagePromptBrief
from writer_service.ai.template_writer import TemplateWriter
from writer_service.domain import seo
from writer_service.domain.html_text import analyze_html, contains
from writer_service.domain.vocabulary import CONTENT_STRUCTURES

TARGETS = (300, 800, 1500, 3000)
# The checks whose outcome depends only on what the writer writes: all of them pass, not merely avoid FAIL.
WRITER_CHECKS = {
    "TITLE", "CONTENT_HTML", "WORD_COUNT", "META_TITLE", "META_DESCRIPTION", "PRIMARY_KEYWORD", "KEYWORD_IN_TITLE",
    "KEYWORD_IN_META_DESCRIPTION", "KEYWORD_IN_INTRODUCTION", "KEYWORD_IN_SUBHEADINGS", "KEYWORD_DENSITY",
    "SINGLE_H1", "SUBHEADING_DISTRIBUTION", "IMAGE_ALT_TEXT",
}


def brief(**changes: object) -> ArticleBrief:
    base = ArticleBrief(
        title="The best running shoes for beginners",
        primary_keyword="running shoes",
        keywords=["running shoes", "trail running", "shoe cushioning", "marathon training"],
        cluster_name="Running gear",
        content_type="post",
        content_structure="article",
        word_count_target=800,
        taxonomy_terms=["Shoes", "Beginners"],
        site_name="RunFast",
        sector_name="Sports Retail",
        description="For people buying their first pair.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def write(**changes: object):
    return await TemplateWriter().write_article(brief(**changes))


@pytest.mark.parametrize("structure", CONTENT_STRUCTURES)
@pytest.mark.parametrize("target", TARGETS)
async def test_article_is_within_ten_percent_of_the_target(structure: str, target: int) -> None:
    article = await write(content_structure=structure, word_count_target=target)
    found = analyze_html(article.html).word_count
    assert abs(found - target) <= target * 0.1, f"{found} words for a target of {target}"


@pytest.mark.parametrize("structure", CONTENT_STRUCTURES)
@pytest.mark.parametrize("target", TARGETS)
async def test_article_passes_every_content_check(structure: str, target: int) -> None:
    article = await write(content_structure=structure, word_count_target=target)
    report = seo.validate(seo.ContentFacts(
        title=article.title, content_html=article.html, meta_title=article.meta_title,
        meta_description=article.meta_description, primary_keyword=article.primary_keyword,
        target_words=target, featured_image="generated",
    ))
    assert not report.failures
    warned = {c.code: c.message for c in report.checks if c.outcome != seo.PASS}
    assert not warned.keys() & WRITER_CHECKS, warned


@pytest.mark.parametrize("structure", CONTENT_STRUCTURES)
@pytest.mark.parametrize("target", TARGETS)
async def test_article_keeps_the_seo_rules(structure: str, target: int) -> None:
    article = await write(content_structure=structure, word_count_target=target)
    html = analyze_html(article.html)
    h2s = [text for level, text in html.headings if level == 2]
    assert html.h1_count == 0
    assert html.longest_run_without_heading <= 250
    assert contains("running shoes", article.title)
    assert contains("running shoes", html.first_paragraph)
    assert any(contains("running shoes", h2) for h2 in h2s)
    assert 0.5 <= seo.keyword_density("running shoes", html) <= 3.0
    assert len(article.meta_title) <= 60
    assert 121 <= len(article.meta_description) <= 156
    assert contains("running shoes", article.meta_description)


async def test_same_brief_gives_the_same_bytes() -> None:
    first, second = await write(), await write()
    assert (first.html, first.meta_title, first.meta_description) == \
        (second.html, second.meta_title, second.meta_description)


async def test_another_brief_gives_other_words() -> None:
    assert (await write()).html != (await write(title="Running shoes that last")).html


async def test_article_uses_the_other_keywords() -> None:
    article = await write()
    assert article.secondary_keywords == ["trail running", "shoe cushioning", "marathon training"]
    for keyword in article.secondary_keywords:
        assert contains(keyword, article.html), keyword


async def test_usage_estimates_tokens_from_words() -> None:
    article = await write(word_count_target=1000)
    assert (article.usage.provider, article.usage.model) == ("template", "template-v1")
    assert 1200 <= article.usage.tokens_out <= 1500
    assert article.usage.tokens_in > 0


async def test_title_without_the_keyword_gets_it() -> None:
    article = await write(title="Our spring picks")
    assert article.title == "Running shoes: Our spring picks"


async def test_listicle_has_numbered_h2_items() -> None:
    h2s = [t for level, t in analyze_html((await write(content_structure="listicle")).html).headings if level == 2]
    numbered = [t for t in h2s if re.match(r"\d+\. ", t)]
    assert len(numbered) >= 3
    assert [int(t.split(".")[0]) for t in numbered] == list(range(1, len(numbered) + 1))


async def test_how_to_lists_its_steps_in_an_ordered_list() -> None:
    html = (await write(content_structure="how_to")).html
    assert "<ol>" in html
    assert re.search(r"<h2[^>]*>Step 1: ", html)


async def test_comparison_has_a_table() -> None:
    html = (await write(content_structure="comparison")).html
    assert "<table>" in html and "<th>Option</th>" in html
    assert "<td>Trail running</td>" in html


async def test_review_has_pros_cons_and_a_verdict() -> None:
    html = (await write(content_structure="review")).html
    assert "<h3>Pros</h3>" in html and "<h3>Cons</h3>" in html
    assert re.search(r"<h2[^>]*>Verdict</h2>", html)
    assert re.search(r"Our rating: \d\.\d out of 5", html)


async def test_landing_page_has_hero_benefits_and_a_call_to_action() -> None:
    html = (await write(content_structure="landing_page")).html
    assert html.startswith('<section class="hero">')
    assert '<section class="benefits">' in html
    assert html.count('class="cta"') >= 2


async def test_guide_has_a_table_of_contents_that_links_its_chapters() -> None:
    html = (await write(content_structure="guide", word_count_target=1500)).html
    anchors = re.findall(r'<a href="#([^"]+)">', html)
    assert len(anchors) >= 4
    for anchor in anchors:
        assert f'id="{anchor}"' in html
    assert "<h3>" in html


async def test_unknown_structure_is_written_as_an_article() -> None:
    html = (await write(content_structure="poem")).html
    assert "Final thoughts on running shoes</h2>" in html


async def test_brief_without_keywords_site_or_target_still_writes_a_valid_article() -> None:
    article = await TemplateWriter().write_article(ArticleBrief(title="", primary_keyword="email marketing",
                                                                word_count_target=0))
    assert article.title == "Email marketing: a practical guide"
    assert article.secondary_keywords == []
    assert abs(analyze_html(article.html).word_count - 1000) <= 100  # the default target
    assert 121 <= len(article.meta_description) <= 156


async def test_markup_in_the_brief_is_escaped() -> None:
    article = await write(primary_keyword="salt & pepper <mills>", title="Salt & pepper <mills> compared")
    assert "<mills>" not in article.html
    assert "salt &amp; pepper &lt;mills&gt;" in article.html


async def test_image_prompts_cover_the_title_and_headings_up_to_the_limit() -> None:
    prompts = await TemplateWriter().write_image_prompts(ImagePromptBrief(
        content_title="The best running shoes for beginners", primary_keyword="running shoes",
        keywords=["trail running"], headings=["Fit", "Cushioning", "Price", "Care"], max_in_article=3,
    ))
    assert prompts.featured.position == 0 and prompts.featured.heading is None
    assert [d.heading for d in prompts.in_article] == ["Fit", "Cushioning", "Price"]
    assert [d.position for d in prompts.in_article] == [1, 2, 3]
    for draft in [prompts.featured, *prompts.in_article]:
        assert contains("running shoes", draft.alt_text)
        assert draft.prompt and draft.caption
    assert prompts.usage.provider == "template"


async def test_image_prompts_are_deterministic() -> None:
    request = ImagePromptBrief(content_title="Trail running", primary_keyword="trail running", headings=["Shoes"])
    first = await TemplateWriter().write_image_prompts(request)
    second = await TemplateWriter().write_image_prompts(request)
    assert (first.featured, first.in_article) == (second.featured, second.in_article)


async def test_image_prompts_with_no_headings_or_limit_zero_give_only_the_featured_prompt() -> None:
    writer = TemplateWriter()
    no_headings = await writer.write_image_prompts(ImagePromptBrief(content_title="T", primary_keyword="k"))
    limit_zero = await writer.write_image_prompts(ImagePromptBrief(content_title="T", primary_keyword="k",
                                                                   headings=["A"], max_in_article=0))
    assert no_headings.in_article == [] and limit_zero.in_article == []
