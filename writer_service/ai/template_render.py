"""Turns an outline into an HTML body of about the target length, with subheadings every ~200 words."""

from __future__ import annotations

import html
import math

from writer_service.ai.template_outline import Section
from writer_service.ai.template_prose import Context, Prose, Tally
from writer_service.domain.html_text import analyze_html, occurrences, words

MAX_CHUNK_WORDS = 180  # prose words between two subheadings; the checks warn past 300
GENERIC_SUBHEADINGS = (
    "Getting the details right", "A practical example", "What to watch for", "Going further",
    "Questions to ask", "Quick wins", "Common pitfalls", "Making it stick",
)


def _fixed_words(section: Section) -> int:
    """Words of the section that do not depend on its budget: the H2 and the lists, tables, links."""
    fragments = [*section.before, *section.after]
    return len(words(section.heading or "")) + sum(analyze_html(f).word_count for f in fragments)


class BodyRenderer:
    """Writes the sections in order, giving each its share of the words still to write."""

    def __init__(self, context: Context, prose: Prose, tally: Tally) -> None:
        self.context = context
        self.prose = prose
        self.tally = tally
        self.first_prose = True

    def render(self, sections: list[Section], target: int) -> str:
        """The HTML body; its word count lands within a few words of the target."""
        fixed = [_fixed_words(s) for s in sections]
        parts = []
        for i, section in enumerate(sections):
            weights_left = sum(s.weight for s in sections[i:])
            available = target - self.tally.words - sum(fixed[i:])
            budget = round(available * section.weight / weights_left)
            parts.append(self._section(section, budget))
        return "".join(parts)

    def _fragment(self, fragment: str) -> str:
        found = analyze_html(fragment).words
        self.tally.words += len(found)
        self.tally.keyword += occurrences(self.context.keyword, found)
        return fragment

    def _heading(self, level: int, text: str, anchor: str = "") -> str:
        self.tally.add(self.context, text)
        id_attr = f' id="{anchor}"' if anchor else ""
        return f"<h{level}{id_attr}>{html.escape(text, quote=False)}</h{level}>"

    def _section(self, section: Section, budget: int) -> str:
        parts = []
        if section.heading:
            parts.append(self._heading(2, section.heading, section.anchor))
        parts.extend(self._fragment(f) for f in section.before)
        parts.extend(self._prose(section, budget))
        parts.extend(self._fragment(f) for f in section.after)
        body = "".join(parts)
        if section.css_class:
            return f'<section class="{section.css_class}">{body}</section>'
        return body

    def _prose(self, section: Section, budget: int) -> list[str]:
        if section.always_split:
            titles: list[str | None] = list(section.subheadings)
        else:
            chunks = max(1, math.ceil(budget / MAX_CHUNK_WORDS))
            named = [*section.subheadings, *(h for h in GENERIC_SUBHEADINGS if h not in section.subheadings)]
            titles = [None, *named[:chunks - 1]]
        start = self.tally.words
        parts = []
        for i, title in enumerate(titles):
            if title:
                parts.append(self._heading(3, title))
            share = (budget - (self.tally.words - start)) // (len(titles) - i)
            opening = self.first_prose
            self.first_prose = False
            for paragraph in self.prose.paragraphs(share, section.subject, open_with_keyword=opening):
                parts.append(f"<p>{paragraph}</p>")
        return parts
