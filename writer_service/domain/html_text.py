"""What an HTML body says to a reader: its words, headings, first paragraph and images.

Read with the standard library's `html.parser`, never with patterns over the markup: words are
counted in the text the HTML renders, with tags, scripts and styles left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SKIPPED = ("script", "style", "template", "noscript")
_BLOCKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th", "section", "article", "header",
    "footer", "blockquote", "pre", "figure", "figcaption", "hr", "dd", "dt", "dl", "main", "aside", *_HEADINGS,
})


def words(text: str) -> list[str]:
    """The lowercase words of plain text."""
    return _WORD.findall(text.lower())


@dataclass
class HtmlAnalysis:
    """What the checks need to know of an HTML body."""

    words: list[str] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)  # (level, text)
    first_paragraph: str = ""  # text of the first non-empty <p>; empty when there is none
    images_without_alt: int = 0
    images: int = 0
    longest_run_without_heading: int = 0  # words

    @property
    def word_count(self) -> int:
        """Number of words of the rendered text."""
        return len(self.words)

    @property
    def h1_count(self) -> int:
        """Number of <h1> elements."""
        return sum(1 for level, _ in self.headings if level == 1)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.result = HtmlAnalysis()
        self._skip = 0
        self._heading: tuple[int, list[str]] | None = None
        self._paragraph: list[str] | None = None
        self._run = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "img":
            self.result.images += 1
            alt = dict(attrs).get("alt") or ""
            self.result.images_without_alt += not alt.strip()
        elif tag in _HEADINGS:
            self._close_run()
            self._heading = (int(tag[1]), [])
        elif tag == "p" and not self.result.first_paragraph:
            self._paragraph = []
        if tag in _BLOCKS:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _HEADINGS and self._heading is not None:
            level, parts = self._heading
            self.result.headings.append((level, " ".join("".join(parts).split())))
            self._heading = None
        elif tag == "p" and self._paragraph is not None:
            self.result.first_paragraph = " ".join("".join(self._paragraph).split())
            self._paragraph = None
        if tag in _BLOCKS:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._heading is not None:
            self._heading[1].append(data)
            return
        if self._paragraph is not None:
            self._paragraph.append(data)
        self._run += len(words(data))

    def _close_run(self) -> None:
        self.result.longest_run_without_heading = max(self.result.longest_run_without_heading, self._run)
        self._run = 0

    def finish(self) -> HtmlAnalysis:
        self.close()
        self._close_run()
        self.result.words = words("".join(self.text))
        return self.result


def analyze_html(html: str) -> HtmlAnalysis:
    """Words, headings, first paragraph and images of an HTML body."""
    reader = _Reader()
    reader.feed(html or "")
    return reader.finish()


def count_words(html: str) -> int:
    """Number of words of the text an HTML body renders."""
    return analyze_html(html).word_count


def occurrences(keyword: str, text_words: list[str]) -> int:
    """How many times the keyword phrase appears, as whole words, in a list of words."""
    phrase = words(keyword)
    n = len(phrase)
    if not n:
        return 0
    count, i = 0, 0
    while i + n <= len(text_words):
        if text_words[i:i + n] == phrase:
            count, i = count + 1, i + n
        else:
            i += 1
    return count


def contains(keyword: str, text: str) -> bool:
    """Whether the keyword phrase appears, as whole words, in the text."""
    return occurrences(keyword, words(text)) > 0
