"""The outlines of the template writer: one per content structure, scaled to the word-count target.

An outline is a list of sections: a heading, what its prose is about, its share of the words and the
fixed parts (lists, tables, calls to action) that give each structure its shape.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from writer_service.ai.template_prose import Context, capitalize
from writer_service.domain.slugs import slugify

WORDS_PER_SECTION = 300


@dataclass
class Section:
    """One part of the body; `heading` None is the introduction."""

    heading: str | None
    subject: str = ""
    weight: float = 1.0
    before: list[str] = field(default_factory=list)  # HTML after the heading, before the prose
    after: list[str] = field(default_factory=list)  # HTML after the prose
    subheadings: tuple[str, ...] = ()  # H3 titles used when the prose is split
    always_split: bool = False  # one H3 per subheading whatever the length (questions of a FAQ)
    css_class: str = ""  # wraps the section in <section class="...">

    @property
    def anchor(self) -> str:
        """The id of the section's H2."""
        return slugify(self.heading or "", max_length=60)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def bullet_list(items: list[str], *, ordered: bool = False) -> str:
    """An <ul> (or <ol>) of plain-text items."""
    tag = "ol" if ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{_escape(item)}</li>" for item in items) + f"</{tag}>"


def labelled_list(items: list[tuple[str, str]]) -> str:
    """An <ul> of items that start with a bold label."""
    return "<ul>" + "".join(f"<li><strong>{_escape(label)}</strong> {_escape(text)}</li>"
                            for label, text in items) + "</ul>"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A <table> with a header row."""
    head = "".join(f"<th>{_escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{_escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _count(target: int, per_item: int, low: int, high: int) -> int:
    return max(low, min(high, round(target / per_item)))


def _pick(pool: tuple[tuple[str, str], ...], n: int, context: Context) -> list[tuple[str, str]]:
    """The first n (heading, subject) pairs of a pool, filled in."""
    return [(context.fill(heading), subject) for heading, subject in pool[:n]]


ARTICLE_SECTIONS = (
    ("What {kw} really means", "the basics"),
    ("Why it matters for {audience}", "why it matters"),
    ("How {topic} works in practice", "the day-to-day work"),
    ("Planning your approach", "planning"),
    ("Common mistakes to avoid", "common mistakes"),
    ("Best practices that hold up", "best practices"),
    ("Tools and resources", "tools and resources"),
    ("Measuring results", "measurement"),
    ("Keeping costs under control", "costs"),
    ("Working with others", "collaboration"),
    ("Scaling up over time", "growth"),
)
LIST_ITEMS = (
    ("Set a clear goal for {kw}", "goal setting"),
    ("Learn from what already works", "proven examples"),
    ("Choose tools that fit the job", "tool choice"),
    ("Keep the process simple", "simplicity"),
    ("Measure what matters", "measurement"),
    ("Budget realistically", "budgeting"),
    ("Get feedback early", "feedback"),
    ("Document every decision", "documentation"),
    ("Build a steady routine", "routine"),
    ("Skip the risky shortcuts", "shortcuts"),
    ("Review results every month", "reviews"),
    ("Invest in skills", "skills"),
    ("Automate the repetitive parts", "automation"),
    ("Think about the long term", "long-term planning"),
    ("Ask better questions", "good questions"),
)
STEPS = (
    ("Define the goal", "the goal"),
    ("Gather what you need", "preparation"),
    ("Map out the plan", "the plan"),
    ("Set up the basics", "the setup"),
    ("Run a small first test", "the first test"),
    ("Review the results", "the results"),
    ("Adjust and improve", "improvements"),
    ("Roll it out fully", "the rollout"),
    ("Document the process", "documentation"),
    ("Keep it running", "upkeep"),
)
REVIEW_EXTRA = (
    ("Setup and first impressions", "the setup"),
    ("Support and reliability", "support"),
    ("Alternatives worth a look", "the alternatives"),
    ("Long-term value", "long-term value"),
)
GUIDE_CHAPTERS = (
    ("Understanding {kw}", "the fundamentals"),
    ("Getting started", "the first steps"),
    ("Core techniques", "core techniques"),
    ("Planning and budgeting", "planning"),
    ("Advanced strategies", "advanced strategies"),
    ("Measuring success", "measurement"),
    ("Troubleshooting", "troubleshooting"),
    ("Staying up to date", "keeping current"),
)
QUESTIONS = (
    "How long does it take to see results with {kw}?",
    "What does it cost?",
    "Is it right for beginners?",
    "What should I do first?",
)


def _conclusion(context: Context, heading: str) -> Section:
    return Section(context.fill(heading), "the next steps", weight=0.7)


def _secondary_section(context: Context) -> list[Section]:
    if not context.secondary:
        return []
    k = context.secondary[0]
    return [Section(context.fill("Where {k} fits in", k=k), k)]


def article(context: Context, target: int, rng: random.Random) -> list[Section]:
    """Introduction, themed sections, conclusion."""
    n = _count(target, WORDS_PER_SECTION, 2, len(ARTICLE_SECTIONS))
    body = [Section(h, s) for h, s in _pick(ARTICLE_SECTIONS, n, context)]
    return [Section(None, weight=0.6), *body[:2], *_secondary_section(context), *body[2:],
            _conclusion(context, "Final thoughts on {kw}")]


def listicle(context: Context, target: int, rng: random.Random) -> list[Section]:
    """Introduction, numbered H2 items, conclusion."""
    n = _count(target, 200, 3, len(LIST_ITEMS))
    items = _pick(LIST_ITEMS, n, context)
    if context.secondary:
        k = context.secondary[0]
        items.insert(min(2, n - 1), (context.fill("Plan for {k}", k=k), k))
        items.pop()
    intro = Section(None, weight=0.6, after=[f"<p>Here are {n} ideas worth putting to work.</p>"])
    numbered = [Section(f"{i}. {heading}", subject) for i, (heading, subject) in enumerate(items, 1)]
    return [intro, *numbered, _conclusion(context, "Putting these {kw} ideas to work")]


def how_to(context: Context, target: int, rng: random.Random) -> list[Section]:
    """What you need, the steps as an ordered list, one section per step, tips."""
    n = _count(target, 260, 3, len(STEPS))
    steps = [heading for heading, _ in STEPS[:n]]
    needs = ["A clear goal", "Time set aside", "The right tools", capitalize(context.topic), "A way to measure results"]
    return [
        Section(None, weight=0.6),
        Section("What you need before you start", "preparation", weight=0.5, after=[bullet_list(needs[:3 + n // 4])]),
        Section(context.fill("{kw}: the steps at a glance"), "the overall process", weight=0.4,
                before=[bullet_list(steps, ordered=True)]),
        *[Section(f"Step {i}: {heading}", subject) for i, (heading, subject) in enumerate(STEPS[:n], 1)],
        *_secondary_section(context),
        Section("Tips for better results", "good habits", weight=0.6),
        _conclusion(context, "A final checklist for {kw}"),
    ]


def comparison(context: Context, target: int, rng: random.Random) -> list[Section]:
    """A comparison table, one section per option, how to choose, verdict."""
    options = list(context.secondary[:4]) if len(context.secondary) >= 2 else \
        ["The budget option", "The balanced option", "The premium option"]
    best_for = ("Getting started", "Growing teams", "Demanding projects", "Specialists")
    strengths = ("Low cost", "Good balance", "Top quality", "Flexibility")
    trade_offs = ("Fewer features", "Some set-up work", "Higher price", "Steeper learning curve")
    rows = [[capitalize(o), best_for[i], strengths[i], trade_offs[i]] for i, o in enumerate(options)]
    glance = Section(context.fill("{kw}: the options at a glance"), "the options", weight=0.4,
                     after=[table(["Option", "Best for", "Strength", "Trade-off"], rows)])
    per_option = [Section(f"{capitalize(o)}: strengths and trade-offs", "this option",
                          subheadings=("Strengths", "Trade-offs", "Who it suits")) for o in options]
    extra = [Section("How to choose", "the decision")] if target >= 600 else []
    return [Section(None, weight=0.6), glance, *per_option, *extra, _conclusion(context, "Our verdict on {kw}")]


def review(context: Context, target: int, rng: random.Random) -> list[Section]:
    """Overview, features, pros and cons, value, verdict with a rating."""
    features = ["Easy to get started", "Sensible defaults", "Clear documentation", "Room to grow"]
    pros = ["Quick to learn", "Good value", "Reliable results"]
    cons = ["Some advanced options are hidden", "Takes time to master"]
    extra = [Section(h, s) for h, s in REVIEW_EXTRA[:max(0, round(target / WORDS_PER_SECTION) - 6)]]
    rating = 3.8 + rng.randint(0, 9) / 10
    pros_cons = f"<h3>Pros</h3>{bullet_list(pros)}<h3>Cons</h3>{bullet_list(cons)}"
    return [
        Section(None, weight=0.6),
        Section(context.fill("{kw} at a glance"), "the overview"),
        Section("Key features", "the features", after=[bullet_list(features)]),
        Section("Performance in everyday use", "everyday use"),
        *extra,
        Section("Pros and cons", "the balance", weight=0.4, before=[pros_cons]),
        Section("Value for money", "the price"),
        *_secondary_section(context),
        Section("Verdict", "the verdict", weight=0.7, after=[f"<p>Our rating: {rating:.1f} out of 5.</p>"]),
    ]


def landing_page(context: Context, target: int, rng: random.Random) -> list[Section]:
    """Hero with a call to action, benefits, how it works, questions, final call to action."""
    benefits = [("Save time.", "Spend less effort on routine work."), ("Better results.", "Decisions rest on data."),
                ("Room to grow.", "Start small and scale when ready."), ("Real support.", "Help when you need it.")]
    how = ["Tell us what you need", "Get a clear plan", "See the results"]
    questions = tuple(context.fill(q) for q in QUESTIONS[:2 + (target >= 1000) + (target >= 2000)])
    cta = '<p><a class="cta" href="#get-started">Get started today</a></p>'
    return [
        Section(context.fill("{kw}, made simple"), "what we offer", weight=0.8, after=[cta], css_class="hero"),
        Section("Benefits you can count on", "the benefits", weight=0.6,
                before=[labelled_list(benefits[:3 + (target >= 800)])], css_class="benefits"),
        Section("How it works", "the process", weight=0.6, before=[bullet_list(how, ordered=True)]),
        Section(f"Why choose {context.site}", "our approach"),
        *_secondary_section(context),
        Section("Frequently asked questions", "common questions", subheadings=questions, always_split=True,
                css_class="faq"),
        Section(context.fill("Get started with {kw} today"), "getting started", weight=0.6,
                after=['<p><a class="cta" id="get-started" href="#get-started">Talk to us</a></p>'], css_class="cta"),
    ]


def guide(context: Context, target: int, rng: random.Random) -> list[Section]:
    """Introduction with a table of contents, chapters with subsections, questions, next steps."""
    n = _count(target, 350, 3, len(GUIDE_CHAPTERS))
    chapters = [Section(h, s, weight=1.3) for h, s in _pick(GUIDE_CHAPTERS, n, context)]
    questions = tuple(context.fill(q) for q in QUESTIONS[:2 + (target >= 1500)])
    faq = Section(context.fill("Frequently asked questions about {kw}"), "common questions", weight=0.8,
                  subheadings=questions, always_split=True)
    body = [*chapters[:2], *_secondary_section(context), *chapters[2:], faq, _conclusion(context, "Next steps")]
    contents = "<ul class=\"toc\">" + "".join(f'<li><a href="#{s.anchor}">{_escape(s.heading or "")}</a></li>'
                                              for s in body) + "</ul>"
    return [Section(None, weight=0.6, after=["<p>In this guide:</p>", contents]), *body]


OUTLINES: dict[str, Callable[[Context, int, random.Random], list[Section]]] = {
    "article": article,
    "listicle": listicle,
    "how_to": how_to,
    "comparison": comparison,
    "review": review,
    "landing_page": landing_page,
    "guide": guide,
}


def outline(structure: str, context: Context, target: int, rng: random.Random) -> list[Section]:
    """The sections of a body of that structure; an unknown structure is written as an article."""
    return OUTLINES.get(structure, article)(context, target, rng)
