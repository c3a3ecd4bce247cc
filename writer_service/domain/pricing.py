"""What AI work costs in credits: the estimate reserved up front and the real cost settled after."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    """Credit prices; the estimate carries a margin so that the real cost rarely exceeds it."""

    credits_per_100_words: int = 1
    min_content_credits: int = 1
    image_prompt_credits: int = 1
    image_credits: int = 2
    default_word_count: int = 1000
    estimate_margin: float = 1.2

    def target_words(self, word_count_target: int) -> int:
        """The length a task asks for, or the default when it names none."""
        return word_count_target if word_count_target > 0 else self.default_word_count

    def content_estimate(self, word_count_target: int) -> int:
        """Credits reserved for writing one article of that target length."""
        words = self.target_words(word_count_target) * self.estimate_margin
        return max(self.min_content_credits, math.ceil(words / 100 * self.credits_per_100_words))

    def content_cost(self, words_written: int, reserved: int) -> int:
        """Credits charged for an article of that length: never more than was reserved for it."""
        cost = max(self.min_content_credits, math.ceil(words_written / 100 * self.credits_per_100_words))
        return min(cost, reserved)
