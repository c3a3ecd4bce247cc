"""The publishing checks of content (the source's ContentValidationService), as pure rules.

Every threshold of the checks lives here. A FAIL blocks publishing, a WARNING only lowers the score.
"""

from __future__ import annotations

from dataclasses import dataclass

from writer_service.domain.html_text import HtmlAnalysis, analyze_html, contains, occurrences, words

# Thresholds.
META_TITLE_MIN_CHARS = 30
META_TITLE_MAX_CHARS = 60
META_DESCRIPTION_MIN_CHARS = 121
META_DESCRIPTION_MAX_CHARS = 156
KEYWORD_DENSITY_MIN_PERCENT = 0.5
KEYWORD_DENSITY_MAX_PERCENT = 3.0
KEYWORD_STUFFING_PERCENT = 5.0  # above this the keyword is stuffed: FAIL
MAX_H1 = 1
MAX_WORDS_WITHOUT_SUBHEADING = 300
DEFAULT_TARGET_WORDS = 300  # when the content has no task, or its task names no target
WORD_COUNT_FAIL_RATIO = 0.5  # fewer words than this share of the target: FAIL
WORD_COUNT_WARN_RATIO = 0.9  # fewer than this share: WARNING
WORD_COUNT_LONG_RATIO = 2.0  # more than this multiple of a task's target: WARNING
INTRODUCTION_FALLBACK_WORDS = 100  # the "first paragraph" when the HTML has no <p>

PASS, WARNING, FAIL = "pass", "warning", "fail"
OUTCOME_POINTS = {PASS: 1.0, WARNING: 0.5, FAIL: 0.0}

@dataclass(frozen=True)
class ContentFacts:
    """What the checks look at: the content's fields and what the service knows around it."""

    title: str
    content_html: str
    meta_title: str = ""
    meta_description: str = ""
    primary_keyword: str = ""
    target_words: int = 0  # the linked task's word_count; 0: none
    featured_image: str | None = None  # best status of its featured images; None: no featured image


@dataclass(frozen=True)
class Check:
    """The outcome of one check: a stable code, a title, pass/warning/fail and a message."""

    code: str
    title: str
    outcome: str
    message: str = ""


@dataclass(frozen=True)
class Report:
    """Every check, whether the content may be published, and a 0-100 score."""

    checks: list[Check]

    @property
    def publishable(self) -> bool:
        """True when no check failed."""
        return all(c.outcome != FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that block publishing."""
        return [c for c in self.checks if c.outcome == FAIL]

    @property
    def score(self) -> int:
        """Points of the checks (pass 1, warning 0.5, fail 0) as a percentage."""
        if not self.checks:
            return 0
        return round(100 * sum(OUTCOME_POINTS[c.outcome] for c in self.checks) / len(self.checks))


def check_title(facts: ContentFacts) -> Check:
    """The content has a title."""
    if facts.title.strip():
        return Check("TITLE", "Title present", PASS)
    return Check("TITLE", "Title present", FAIL, "the content has no title")


def check_body(html: HtmlAnalysis) -> Check:
    """The content has an HTML body with text."""
    if html.word_count:
        return Check("CONTENT_HTML", "Body present", PASS)
    return Check("CONTENT_HTML", "Body present", FAIL, "the content has no body text")


def check_word_count(facts: ContentFacts, html: HtmlAnalysis) -> Check:
    """Length against the task's target (or the default minimum)."""
    title = "Word count against target"
    target = facts.target_words or DEFAULT_TARGET_WORDS
    found = html.word_count
    if found < WORD_COUNT_FAIL_RATIO * target:
        return Check("WORD_COUNT", title, FAIL,
                     f"{found} words: under half of the target of {target}")
    if found < WORD_COUNT_WARN_RATIO * target:
        return Check("WORD_COUNT", title, WARNING, f"{found} words: short of the target of {target}")
    if facts.target_words and found > WORD_COUNT_LONG_RATIO * target:
        return Check("WORD_COUNT", title, WARNING, f"{found} words: far over the target of {target}")
    return Check("WORD_COUNT", title, PASS)


def check_meta_title(facts: ContentFacts) -> Check:
    """The SEO title is set and of a length search engines show whole."""
    title, size = "Meta title length", len(facts.meta_title.strip())
    if not size:
        return Check("META_TITLE", title, FAIL, "the meta title is missing")
    if not META_TITLE_MIN_CHARS <= size <= META_TITLE_MAX_CHARS:
        return Check("META_TITLE", title, WARNING, f"{size} characters: aim for "
                     f"{META_TITLE_MIN_CHARS}-{META_TITLE_MAX_CHARS}")
    return Check("META_TITLE", title, PASS)


def check_meta_description(facts: ContentFacts) -> Check:
    """The meta description is set and 121-156 characters long."""
    title, size = "Meta description length", len(facts.meta_description.strip())
    if not size:
        return Check("META_DESCRIPTION", title, FAIL, "the meta description is missing")
    if not META_DESCRIPTION_MIN_CHARS <= size <= META_DESCRIPTION_MAX_CHARS:
        return Check("META_DESCRIPTION", title, WARNING, f"{size} characters: aim for "
                     f"{META_DESCRIPTION_MIN_CHARS}-{META_DESCRIPTION_MAX_CHARS}")
    return Check("META_DESCRIPTION", title, PASS)


def check_primary_keyword(facts: ContentFacts) -> Check:
    """A primary keyword is set."""
    if words(facts.primary_keyword):
        return Check("PRIMARY_KEYWORD", "Primary keyword set", PASS)
    return Check("PRIMARY_KEYWORD", "Primary keyword set", WARNING, "no primary keyword is set")


def _keyword_check(code: str, title: str, facts: ContentFacts, found: bool, where: str) -> Check:
    if not words(facts.primary_keyword):
        return Check(code, title, WARNING, "no primary keyword to look for")
    if found:
        return Check(code, title, PASS)
    return Check(code, title, WARNING, f"the primary keyword {facts.primary_keyword!r} is not in {where}")


def check_keyword_in_title(facts: ContentFacts) -> Check:
    """The primary keyword is in the title or the meta title."""
    found = contains(facts.primary_keyword, facts.title) or contains(facts.primary_keyword, facts.meta_title)
    return _keyword_check("KEYWORD_IN_TITLE", "Primary keyword in title", facts, found, "the title")


def check_keyword_in_meta_description(facts: ContentFacts) -> Check:
    """The primary keyword is in the meta description."""
    return _keyword_check("KEYWORD_IN_META_DESCRIPTION", "Primary keyword in meta description", facts,
                          contains(facts.primary_keyword, facts.meta_description), "the meta description")


def check_keyword_in_introduction(facts: ContentFacts, html: HtmlAnalysis) -> Check:
    """The primary keyword is in the first paragraph."""
    introduction = html.first_paragraph or " ".join(html.words[:INTRODUCTION_FALLBACK_WORDS])
    return _keyword_check("KEYWORD_IN_INTRODUCTION", "Primary keyword in first paragraph", facts,
                          contains(facts.primary_keyword, introduction), "the first paragraph")


def check_keyword_in_subheadings(facts: ContentFacts, html: HtmlAnalysis) -> Check:
    """The primary keyword is in at least one H2 or H3."""
    subheadings = [text for level, text in html.headings if level in (2, 3)]
    if words(facts.primary_keyword) and not subheadings:
        return Check("KEYWORD_IN_SUBHEADINGS", "Primary keyword in subheadings", WARNING,
                     "the content has no H2 or H3 subheadings")
    found = any(contains(facts.primary_keyword, text) for text in subheadings)
    return _keyword_check("KEYWORD_IN_SUBHEADINGS", "Primary keyword in subheadings", facts, found,
                          "any H2 or H3 subheading")


def keyword_density(keyword: str, html: HtmlAnalysis) -> float:
    """Occurrences of the keyword per hundred words of the body."""
    if not html.word_count:
        return 0.0
    return 100 * occurrences(keyword, html.words) / html.word_count


def check_keyword_density(facts: ContentFacts, html: HtmlAnalysis) -> Check:
    """The primary keyword makes 0.5-3% of the words; far above is stuffing."""
    code, title = "KEYWORD_DENSITY", "Keyword density"
    if not words(facts.primary_keyword):
        return Check(code, title, WARNING, "no primary keyword to measure")
    density = keyword_density(facts.primary_keyword, html)
    shown = f"{density:.1f}%"
    if density > KEYWORD_STUFFING_PERCENT:
        return Check(code, title, FAIL, f"{shown}: the keyword is stuffed (over {KEYWORD_STUFFING_PERCENT}%)")
    if not KEYWORD_DENSITY_MIN_PERCENT <= density <= KEYWORD_DENSITY_MAX_PERCENT:
        return Check(code, title, WARNING,
                     f"{shown}: aim for {KEYWORD_DENSITY_MIN_PERCENT}-{KEYWORD_DENSITY_MAX_PERCENT}%")
    return Check(code, title, PASS)


def check_h1(html: HtmlAnalysis) -> Check:
    """At most one H1 in the body."""
    if html.h1_count <= MAX_H1:
        return Check("SINGLE_H1", "At most one H1", PASS)
    return Check("SINGLE_H1", "At most one H1", FAIL, f"{html.h1_count} H1 headings: keep at most {MAX_H1}")


def check_subheading_distribution(html: HtmlAnalysis) -> Check:
    """No stretch of text longer than ~300 words without a subheading."""
    title = "Subheading distribution"
    if html.longest_run_without_heading > MAX_WORDS_WITHOUT_SUBHEADING:
        return Check("SUBHEADING_DISTRIBUTION", title, WARNING,
                     f"{html.longest_run_without_heading} words in a row without a subheading: "
                     f"add one at least every {MAX_WORDS_WITHOUT_SUBHEADING} words")
    return Check("SUBHEADING_DISTRIBUTION", title, PASS)


def check_image_alt_text(html: HtmlAnalysis) -> Check:
    """Every image in the body has alt text."""
    if not html.images_without_alt:
        return Check("IMAGE_ALT_TEXT", "Images have alt text", PASS)
    return Check("IMAGE_ALT_TEXT", "Images have alt text", WARNING,
                 f"{html.images_without_alt} of {html.images} images have no alt text")


def check_featured_image(facts: ContentFacts) -> Check:
    """A featured image has been generated or uploaded."""
    title = "Featured image present"
    if facts.featured_image == "generated":
        return Check("FEATURED_IMAGE", title, PASS)
    if facts.featured_image is None:
        return Check("FEATURED_IMAGE", title, WARNING, "the content has no featured image")
    return Check("FEATURED_IMAGE", title, WARNING, f"the featured image is {facts.featured_image}, not generated")


def validate(facts: ContentFacts) -> Report:
    """Every check, in a stable order."""
    html = analyze_html(facts.content_html)
    return Report([
        check_title(facts),
        check_body(html),
        check_word_count(facts, html),
        check_meta_title(facts),
        check_meta_description(facts),
        check_primary_keyword(facts),
        check_keyword_in_title(facts),
        check_keyword_in_meta_description(facts),
        check_keyword_in_introduction(facts, html),
        check_keyword_in_subheadings(facts, html),
        check_keyword_density(facts, html),
        check_h1(html),
        check_subheading_distribution(html),
        check_image_alt_text(html),
        check_featured_image(facts),
    ])
