"""The publishing checks of content, one rule at a time (pure: no database, no server)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from writer_service.domain import seo
from writer_service.domain.html_text import analyze_html, count_words, occurrences, words

KEYWORD = "solar panels"
FILLER_TEXT = "a small home can cut its power bill with clean energy made on the roof every sunny day"
FILLER = FILLER_TEXT.split()


def filler(n: int) -> str:
    """n words of plain text without the keyword."""
    return " ".join(FILLER[i % len(FILLER)] for i in range(n))


def good_html(sections: int = 4, words_per_section: int = 140) -> str:
    """A body every check passes: keyword in the intro and the H2s, about 1.4% density."""
    intro = f"<p>Solar panels pay for themselves. {filler(40)}</p>"
    parts = [
        f"<h2>Choosing solar panels, part {i}</h2><p>{filler(words_per_section)} with solar panels.</p>"
        for i in range(sections)
    ]
    return intro + "".join(parts) + '<img src="roof.png" alt="Solar panels on a roof">'


def good_facts(**changes: object) -> seo.ContentFacts:
    facts = seo.ContentFacts(
        title="Solar panels for small homes",
        content_html=good_html(),
        meta_title="Solar panels for small homes: a buyer's guide",
        meta_description=("How to choose solar panels for a small home: sizes, prices, installers and the "
                          "subsidies that make the roof pay for itself within years."),
        primary_keyword=KEYWORD,
        target_words=600,
        featured_image="generated",
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def outcome(code: str, facts: seo.ContentFacts) -> str:
    return next(c.outcome for c in seo.validate(facts).checks if c.code == code)


def test_good_content_passes_every_check_with_full_score() -> None:
    report = seo.validate(good_facts())
    assert [c.code for c in report.checks if c.outcome != seo.PASS] == []
    assert report.publishable and report.score == 100


def test_checks_come_in_a_stable_order() -> None:
    assert [c.code for c in seo.validate(good_facts()).checks] == [
        "TITLE", "CONTENT_HTML", "WORD_COUNT", "META_TITLE", "META_DESCRIPTION", "PRIMARY_KEYWORD",
        "KEYWORD_IN_TITLE", "KEYWORD_IN_META_DESCRIPTION", "KEYWORD_IN_INTRODUCTION", "KEYWORD_IN_SUBHEADINGS",
        "KEYWORD_DENSITY", "SINGLE_H1", "SUBHEADING_DISTRIBUTION", "IMAGE_ALT_TEXT", "FEATURED_IMAGE",
    ]


def test_every_non_passing_check_explains_itself() -> None:
    report = seo.validate(seo.ContentFacts(title="", content_html=""))
    assert all(c.message for c in report.checks if c.outcome != seo.PASS)
    assert all(c.title for c in report.checks)


# Words and HTML.

def test_word_count_counts_rendered_text_only() -> None:
    html = "<p>Hello <b>wor</b>ld, it's well-known</p><script>var x = 1;</script><style>p {}</style><!-- c -->"
    assert count_words(html) == 4  # hello, world, it's, well-known


def test_word_count_separates_words_at_block_boundaries_and_decodes_entities() -> None:
    assert count_words("<p>one</p><p>two</p><li>three</li>four<br>five &amp; six") == 6


def test_word_count_of_empty_or_tag_only_html_is_zero() -> None:
    assert count_words("") == 0
    assert count_words("<div><img src='a.png'></div>") == 0


def test_keyword_occurrences_match_whole_words_case_insensitively() -> None:
    text = words("Solar panels and SOLAR PANELS; solar panelsx and solar, panels")
    assert occurrences(KEYWORD, text) == 3  # the comma is not a word: "solar, panels" counts too
    assert occurrences("", text) == 0


def test_analysis_finds_headings_first_paragraph_and_images() -> None:
    found = analyze_html('<h1>T</h1><p> </p><p>First  one</p><p>Second</p><h3>Sub</h3><img src="x"><img alt="ok">')
    assert found.headings == [(1, "T"), (3, "Sub")]
    assert found.first_paragraph == "First one"
    assert (found.images, found.images_without_alt) == (2, 1)


# Title and body.

def test_missing_title_fails() -> None:
    assert outcome("TITLE", good_facts(title="  ")) == seo.FAIL


def test_missing_body_fails() -> None:
    assert outcome("CONTENT_HTML", good_facts(content_html="")) == seo.FAIL
    assert outcome("CONTENT_HTML", good_facts(content_html="<p> </p>")) == seo.FAIL


# Word count.

def test_word_count_under_half_the_target_fails() -> None:
    assert outcome("WORD_COUNT", good_facts(target_words=1300)) == seo.FAIL


def test_word_count_somewhat_short_of_the_target_warns() -> None:
    assert outcome("WORD_COUNT", good_facts(target_words=750)) == seo.WARNING


def test_word_count_far_over_the_task_target_warns() -> None:
    assert outcome("WORD_COUNT", good_facts(target_words=250)) == seo.WARNING


def test_word_count_without_target_uses_the_default_minimum() -> None:
    short = good_facts(target_words=0, content_html=f"<p>{filler(seo.DEFAULT_TARGET_WORDS // 2 - 1)}</p>")
    assert outcome("WORD_COUNT", short) == seo.FAIL
    assert outcome("WORD_COUNT", good_facts(target_words=0)) == seo.PASS  # long is fine without a target


# Meta title and description.

def test_missing_meta_title_fails() -> None:
    assert outcome("META_TITLE", good_facts(meta_title="")) == seo.FAIL


@pytest.mark.parametrize("size", [seo.META_TITLE_MIN_CHARS - 1, seo.META_TITLE_MAX_CHARS + 1])
def test_meta_title_out_of_bounds_warns(size: int) -> None:
    assert outcome("META_TITLE", good_facts(meta_title="x" * size)) == seo.WARNING


def test_missing_meta_description_fails() -> None:
    assert outcome("META_DESCRIPTION", good_facts(meta_description=" ")) == seo.FAIL


@pytest.mark.parametrize(("size", "expected"), [(120, seo.WARNING), (121, seo.PASS), (156, seo.PASS),
                                                (157, seo.WARNING)])
def test_meta_description_should_be_121_to_156_characters(size: int, expected: str) -> None:
    assert outcome("META_DESCRIPTION", good_facts(meta_description="d" * size)) == expected


# Primary keyword placement.

def test_missing_primary_keyword_warns_on_every_keyword_check() -> None:
    report = seo.validate(good_facts(primary_keyword=""))
    keyword_checks = [c for c in report.checks if "KEYWORD" in c.code]
    assert len(keyword_checks) == 6 and all(c.outcome == seo.WARNING for c in keyword_checks)
    assert report.publishable


def test_keyword_missing_from_title_and_meta_title_warns() -> None:
    assert outcome("KEYWORD_IN_TITLE", good_facts(title="Roof power", meta_title="Roof power guide")) == seo.WARNING


def test_keyword_in_meta_title_alone_is_enough() -> None:
    assert outcome("KEYWORD_IN_TITLE", good_facts(title="Roof power")) == seo.PASS


def test_keyword_must_match_whole_words_in_title() -> None:
    facts = good_facts(title="Solar panelsx", meta_title="Solarpanels")
    assert outcome("KEYWORD_IN_TITLE", facts) == seo.WARNING


def test_keyword_missing_from_meta_description_warns() -> None:
    assert outcome("KEYWORD_IN_META_DESCRIPTION", good_facts(meta_description="d" * 130)) == seo.WARNING


def test_keyword_missing_from_first_paragraph_warns() -> None:
    html = f"<p>{filler(30)}</p><p>Solar panels later.</p>"
    assert outcome("KEYWORD_IN_INTRODUCTION", good_facts(content_html=html)) == seo.WARNING


def test_without_paragraphs_the_first_words_are_the_introduction() -> None:
    assert outcome("KEYWORD_IN_INTRODUCTION", good_facts(content_html="<div>Solar panels now</div>")) == seo.PASS


def test_keyword_in_an_h3_counts_as_a_subheading() -> None:
    html = f"<p>Solar panels.</p><h2>Costs</h2><p>{filler(20)}</p><h3>Mounting solar panels</h3>"
    assert outcome("KEYWORD_IN_SUBHEADINGS", good_facts(content_html=html)) == seo.PASS


def test_keyword_only_in_lower_headings_or_no_subheadings_warns() -> None:
    assert outcome("KEYWORD_IN_SUBHEADINGS", good_facts(content_html="<h2>Costs</h2><h4>Solar panels</h4>")) \
        == seo.WARNING
    assert outcome("KEYWORD_IN_SUBHEADINGS", good_facts(content_html="<p>Solar panels</p>")) == seo.WARNING


# Keyword density.

def density_html(hits: int, total: int) -> str:
    return "<p>" + " ".join(["solar panels"] * hits) + " " + filler(total - 2 * hits) + "</p>"


@pytest.mark.parametrize(("hits", "total", "expected"), [
    (1, 400, seo.WARNING),  # 0.25%: too rare
    (1, 200, seo.PASS),  # 0.5%: the lower bound
    (5, 200, seo.PASS),  # 2.5%
    (6, 200, seo.PASS),  # 3%: the upper bound
    (8, 200, seo.WARNING),  # 4%: too frequent
    (11, 200, seo.FAIL),  # 5.5%: stuffed
])
def test_keyword_density_between_half_and_three_percent_passes_and_stuffing_fails(
    hits: int, total: int, expected: str
) -> None:
    assert outcome("KEYWORD_DENSITY", good_facts(content_html=density_html(hits, total))) == expected


def test_density_is_keyword_occurrences_per_hundred_words() -> None:
    assert seo.keyword_density(KEYWORD, analyze_html(density_html(2, 100))) == pytest.approx(2.0)


# Structure and images.

def test_two_h1_headings_fail() -> None:
    html = good_html() + "<h1>Another title</h1><h1>And one more</h1>"
    assert outcome("SINGLE_H1", good_facts(content_html=html)) == seo.FAIL
    assert outcome("SINGLE_H1", good_facts(content_html="<h1>One</h1>" + good_html())) == seo.PASS


def test_more_than_300_words_without_a_subheading_warns() -> None:
    long_run = f"<h2>Solar panels</h2><p>{filler(seo.MAX_WORDS_WITHOUT_SUBHEADING + 1)}</p>"
    assert outcome("SUBHEADING_DISTRIBUTION", good_facts(content_html=long_run)) == seo.WARNING
    just_enough = f"<p>{filler(150)}</p><h2>Solar panels</h2><p>{filler(seo.MAX_WORDS_WITHOUT_SUBHEADING)}</p>"
    assert outcome("SUBHEADING_DISTRIBUTION", good_facts(content_html=just_enough)) == seo.PASS


def test_images_without_alt_text_warn() -> None:
    for img in ('<img src="a.png">', '<img src="a.png" alt="  ">', '<img src="a.png" alt=""/>'):
        assert outcome("IMAGE_ALT_TEXT", good_facts(content_html=good_html() + img)) == seo.WARNING


@pytest.mark.parametrize(("status", "expected"), [("generated", seo.PASS), ("pending", seo.WARNING),
                                                  ("failed", seo.WARNING), (None, seo.WARNING)])
def test_featured_image_must_be_generated(status: str | None, expected: str) -> None:
    assert outcome("FEATURED_IMAGE", good_facts(featured_image=status)) == expected


# The report.

def test_one_failed_check_makes_content_not_publishable() -> None:
    report = seo.validate(good_facts(meta_description=""))
    assert not report.publishable
    assert [c.code for c in report.failures] == ["META_DESCRIPTION"]


def test_score_counts_a_warning_as_half_and_a_failure_as_nothing() -> None:
    report = seo.validate(good_facts(meta_title="", featured_image=None))  # one FAIL, one WARNING
    assert report.score == round(100 * (len(report.checks) - 1.5) / len(report.checks))
