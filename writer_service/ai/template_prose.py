"""The prose of the template writer: sentences that fill a word budget and keep the keyword density.

Everything is seeded from the brief, so the same brief always gives the same words.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

from writer_service.domain.html_text import occurrences, words

KEYWORD_DENSITY_GOAL = 1.2  # percent of words; the checks want 0.5-3
SENTENCES_PER_PARAGRAPH = (3, 4)
BEST_FIT_WORDS = 30  # below this many words left, pick the sentence that fits best
STOP_WORDS_LEFT = 6  # fewer words left than this: stop rather than overshoot
RECENT_SENTENCES = 8

KEYWORD_SENTENCES = (
    "A clear plan for {kw} saves time, because every later decision builds on the choices made at the start.",
    "Most people who try {kw} for the first time underestimate how much small details change the outcome.",
    "The best results with {kw} come from steady, repeatable habits rather than one big push.",
    "Before changing anything, write down what success with {kw} should look like in numbers you can check.",
    "It helps to treat {kw} as an ongoing process that you review every few weeks, not a single task.",
    "Good work on {kw} starts with knowing what {audience} actually need and why they need it now.",
    "When the work on {kw} is done well, the benefits show up in quality, in cost and in the time it frees up.",
    "Even a modest budget goes further when {kw} decisions rest on real data instead of guesses.",
    "Compare any new approach to {kw} with what you do today, so the difference is easy to see.",
    "Keep notes on what worked for {kw} and what did not; they become your most useful reference.",
    "Experienced practitioners say that success with {kw} rewards patience more than any single clever trick.",
    "A short checklist for {kw} keeps the important steps from slipping when things get busy.",
    "The right moment to revisit {kw} is whenever your goals, your tools or your audience change.",
    "Small, measured tests are the safest way to learn what {kw} can do in your situation.",
    "For {audience}, getting {kw} right is less about theory and more about consistent, practical choices.",
    "Think of {kw} in terms of outcomes: what should be easier, faster or better once it is in place?",
)
NEUTRAL_SENTENCES = (
    "Start with the basics and add detail only when the simple version works reliably.",
    "Clear goals make it much easier to decide what deserves attention and what can wait.",
    "It is worth checking the details twice, because small errors tend to grow over time.",
    "Most problems at this stage come from rushing, so give each decision the time it needs.",
    "A simple written process helps everyone involved stay consistent from one week to the next.",
    "Look at what has already worked for others, then adapt it to your own constraints.",
    "Costs matter, but the cheapest option is rarely the one that delivers the best value.",
    "Measure before and after every change so you can tell real progress from noise.",
    "Ask for feedback early, while it is still cheap and easy to change direction.",
    "The most useful habit here is reviewing results regularly and adjusting calmly.",
    "Focus on a few changes that matter instead of spreading effort across everything at once.",
    "Quality comes from repetition: do the same thing well many times and it becomes easy.",
    "Make sure the people who rely on the result understand why each choice was made.",
    "Keep an eye on upkeep, since what is easy to set up is not always easy to keep running.",
    "Time spent on preparation usually pays for itself several times over later on.",
    "Write down assumptions so they can be tested instead of quietly shaping every decision.",
    "A realistic schedule with a little slack beats an ambitious one that nobody can keep.",
    "Good tools help, but they never replace a clear understanding of the goal.",
    "When it comes to {subject}, the simplest approach that meets the goal is usually the right one.",
    "It is worth taking a closer look at {subject}, because it shapes many of the decisions that follow.",
    "People who get {subject} right tend to spend less time fixing problems later.",
    "There is no single correct answer for {subject}; the right choice depends on the context.",
    "Experience shows the same pattern again and again: clarity first, speed second.",
    "In {sector}, practical experience counts for more than any checklist.",
    "Anyone working on {topic} will recognise how quickly small improvements add up.",
)
SHORT_SENTENCES = ("Small steps add up.", "That is the core of it.", "Keep it simple.")  # to land on the budget
SECONDARY_SENTENCES = (
    "The question of {k} is closely related, and it is worth understanding how the two fit together.",
    "Many readers also ask about {k}, which follows the same principles.",
    "Paying attention to {k} often reveals quick wins that are easy to miss.",
    "If {k} matters to you, plan for it from the beginning rather than adding it later.",
    "A good way to go deeper is to look at {k} and compare it with your current approach.",
    "The subject of {k} tends to come up as soon as the basics are in place.",
    "Do not overlook {k}; it affects cost, quality and the time everything takes.",
    "Teams that handle {k} well usually find the rest of the work runs more smoothly.",
)


def capitalize(text: str) -> str:
    """The text with its first letter in upper case, the rest untouched."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Context:
    """The words a brief lends to the templates."""

    keyword: str
    secondary: tuple[str, ...]
    topic: str
    audience: str
    site: str
    sector: str
    title: str

    def fill(self, template: str, *, subject: str = "", k: str = "") -> str:
        """The template with its placeholders filled; a sentence starts with a capital letter."""
        text = template.format(kw=self.keyword, topic=self.topic, audience=self.audience, site=self.site,
                               sector=self.sector, subject=subject or self.topic, k=k or self.topic)
        return capitalize(text)

    def keyword_count(self, text: str) -> int:
        """How often the primary keyword appears in plain text."""
        return occurrences(self.keyword, words(text))


@dataclass
class Tally:
    """Words and primary keyword occurrences written so far, over the whole body."""

    words: int = 0
    keyword: int = 0

    def add(self, context: Context, text: str) -> int:
        """Count plain text into the tally; returns its words."""
        count = len(words(text))
        self.words += count
        self.keyword += context.keyword_count(text)
        return count


@dataclass
class _Deck:
    """Templates dealt in a shuffled order, reshuffled when used up, so neighbours rarely repeat."""

    templates: tuple[str, ...]
    rng: random.Random
    cards: list[str] = field(default_factory=list)

    def deal(self) -> str:
        if not self.cards:
            self.cards = list(self.templates)
            self.rng.shuffle(self.cards)
        return self.cards.pop()

    def peek(self, n: int) -> list[str]:
        while len(self.cards) < n:
            fresh = list(self.templates)
            self.rng.shuffle(fresh)
            self.cards = fresh + self.cards
        return self.cards[-n:]

    def take(self, card: str) -> None:
        self.cards.reverse()
        self.cards.remove(card)
        self.cards.reverse()


class Prose:
    """Writes paragraphs of a given length, steering the keyword density toward the goal."""

    def __init__(self, context: Context, rng: random.Random, tally: Tally) -> None:
        self.context = context
        self.rng = rng
        self.tally = tally
        self.keyword_deck = _Deck(KEYWORD_SENTENCES, rng)
        self.neutral_deck = _Deck(NEUTRAL_SENTENCES, rng)
        self.secondary_deck = _Deck(SECONDARY_SENTENCES, rng)
        self.recent: list[str] = []  # the last sentences written, never repeated close together
        self.secondary_turn = 0
        self.sentences = 0

    def paragraphs(self, budget: int, subject: str, *, open_with_keyword: bool = False) -> list[str]:
        """About `budget` words of prose as escaped paragraph texts (without <p> tags)."""
        sentences: list[str] = []
        left = budget
        while left >= STOP_WORDS_LEFT or not sentences:
            sentence = self._next(left, subject, force_keyword=open_with_keyword and not sentences)
            sentences.append(sentence)
            left -= self.tally.add(self.context, sentence)
        return self._group(sentences)

    def _next(self, left: int, subject: str, *, force_keyword: bool) -> str:
        self.sentences += 1
        density = 100 * self.tally.keyword / max(1, self.tally.words + 15)
        if force_keyword or density < KEYWORD_DENSITY_GOAL:
            return self._from(self.keyword_deck, left, subject)
        secondary = self.context.secondary
        first_round = self.secondary_turn < len(secondary) and self.sentences % 2 == 0
        if secondary and (first_round or self.sentences % 4 == 0):
            k = secondary[self.secondary_turn % len(secondary)]
            candidate = self._from(self.secondary_deck, left, subject, k=k)
            if density < KEYWORD_DENSITY_GOAL * 2 or not self.context.keyword_count(candidate):
                self.secondary_turn += 1
                return candidate
        return self._from(self.neutral_deck, left, subject, extra=SHORT_SENTENCES)

    def _from(self, deck: _Deck, left: int, subject: str, *, k: str = "", extra: tuple[str, ...] = ()) -> str:
        if left >= BEST_FIT_WORDS:
            text = self.context.fill(deck.deal(), subject=subject, k=k)
        else:
            options = dict.fromkeys([*reversed(deck.peek(len(deck.templates))), *extra])  # unique, dealing order
            filled = [(self.context.fill(t, subject=subject, k=k), t) for t in options]
            fresh = [pair for pair in filled if pair[0] not in self.recent] or filled
            text, template = min(fresh, key=lambda pair: abs(left - len(words(pair[0]))))
            if template not in extra:
                deck.take(template)
        self.recent = [*self.recent[-RECENT_SENTENCES:], text]
        return text

    def _group(self, sentences: list[str]) -> list[str]:
        paragraphs: list[str] = []
        while sentences:
            size = self.rng.randint(*SENTENCES_PER_PARAGRAPH)
            if len(sentences) - size == 1:
                size += 1
            chunk, sentences = sentences[:size], sentences[size:]
            paragraphs.append(html.escape(" ".join(chunk), quote=False))
        return paragraphs
