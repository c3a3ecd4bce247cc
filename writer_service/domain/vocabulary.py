"""The closed vocabularies of the writer service, exactly as spec-notes/entities.md spells them.

The database stores these short lowercase strings (a CHECK constraint per column lists them); the
API exposes them as proto enums (TASK_STATUS_QUEUED <-> "queued"). Pure Python: no project imports.
"""

from __future__ import annotations

# Tenancy.
ACCOUNT_ROLES = ("owner", "editor", "viewer")
PLATFORM_ROLES = ("admin", "developer", "system")
USER_ROLES = ACCOUNT_ROLES + PLATFORM_ROLES

# Shared by ideas, tasks and content.
CONTENT_TYPES = ("post", "page", "product", "service", "taxonomy")
CONTENT_STRUCTURES = ("article", "listicle", "how_to", "comparison", "review", "landing_page", "guide")

# Planner inputs.
CLUSTER_STATUSES = ("active", "archived")
IDEA_STATUSES = ("new", "queued", "completed")

# Writer.
TASK_STATUSES = ("queued", "completed")
CONTENT_STATUSES = ("draft", "review", "published")
CONTENT_SOURCES = ("igny8", "wordpress")
SYNC_STATUSES = ("native", "imported", "pending", "synced", "failed")
TAXONOMY_TYPES = ("category", "tag")
CLUSTER_MAP_ROLES = ("hub", "supporting", "attribute")
CLUSTER_MAP_SOURCES = ("blueprint", "manual", "import")
ATTRIBUTE_TYPES = ("product_spec", "service_modifier", "semantic_facet")

# Images.
IMAGE_TYPES = ("featured", "in_article")
IMAGE_STATUSES = ("pending", "generated", "failed")
IMAGE_FORMATS = ("png", "webp", "jpeg")

# Jobs, billing, automation.
JOB_KINDS = ("content_generation", "image_prompts", "image_generation")
JOB_STATES = ("pending", "running", "succeeded", "failed", "cancelled")
JOB_ITEM_STATES = JOB_STATES
JOB_EVENT_TYPES = (
    "job_started", "item_started", "item_succeeded", "item_failed", "item_cancelled",
    "job_succeeded", "job_failed", "job_cancelled",
)
CREDIT_TRANSACTION_KINDS = ("grant", "reserve", "settle", "release", "adjust")
AI_OPERATIONS = JOB_KINDS
AI_OUTCOMES = ("success", "error")
# 0 is the whole pipeline; 3-6 are the writer's automation stages.
AUTOMATION_STAGES = (0, 3, 4, 5, 6)
AUTOMATION_RUN_STATES = ("running", "succeeded", "failed", "cancelled")
