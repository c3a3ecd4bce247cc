"""What an automation run tells its caller: one plain event per thing that happened.

The servicer maps these to AutomationEvent messages; field names are the messages' own. Stages are
numbered as the database stores them (0 the whole pipeline, 3 to 6 the stages); item kinds and run
states are the lowercase words of the contract's enums.
"""

from __future__ import annotations

from dataclasses import dataclass

PIPELINE, TASK_CREATION, CONTENT_GENERATION, IMAGE_PROMPTS, IMAGE_GENERATION = 0, 3, 4, 5, 6
STAGES = (TASK_CREATION, CONTENT_GENERATION, IMAGE_PROMPTS, IMAGE_GENERATION)
IDEA, TASK, CONTENT, IMAGE = "idea", "task", "content", "image"
RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"


@dataclass(frozen=True)
class ItemStarted:
    """Work on an item started."""

    run_id: int
    stage: int
    item_kind: str
    item_id: int
    title: str


@dataclass(frozen=True)
class ItemSucceeded:
    """An item was done; `result_kind`/`result_id` name what it produced (None/0: nothing to name)."""

    run_id: int
    stage: int
    item_kind: str
    item_id: int
    result_kind: str | None
    result_id: int
    credits_used: int


@dataclass(frozen=True)
class ItemFailed:
    """An item failed, and why; the stage goes on."""

    run_id: int
    stage: int
    item_kind: str
    item_id: int
    reason: str


@dataclass(frozen=True)
class ItemSkipped:
    """An item was not worked on, and why."""

    run_id: int
    stage: int
    item_kind: str
    item_id: int
    reason: str


@dataclass(frozen=True)
class StageProgress:
    """The counts of the current stage so far."""

    run_id: int
    stage: int
    items_done: int
    items_failed: int
    items_skipped: int
    items_total: int
    credits_used: int


@dataclass(frozen=True)
class StageSummary:
    """The end of a stage, or of the pipeline (stage 0), and how it ended."""

    run_id: int
    stage: int
    items_done: int
    items_failed: int
    items_skipped: int
    credits_used: int
    state: str
    credits_exhausted: bool = False
    credits_required: int = 0
    credits_available: int = 0


Event = ItemStarted | ItemSucceeded | ItemFailed | ItemSkipped | StageProgress | StageSummary


@dataclass(frozen=True)
class Exhausted:
    """The account could not pay for the next item: what it needed and what it had."""

    required: int
    available: int


@dataclass
class Tally:
    """Items done, failed and skipped, and credits used, of a stage or of a whole run."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    credits: int = 0
