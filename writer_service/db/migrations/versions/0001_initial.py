# ruff: noqa: E501
"""initial: tenancy, planner inputs, writer, images, jobs, billing, automation, idempotency

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25 06:06:02.179935
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credits >= 0", name=op.f("ck_accounts_credits_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("slug", name=op.f("uq_accounts_slug")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_idempotency_records_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint(
            "account_id",
            "method",
            "request_id",
            name=op.f("uq_idempotency_records_account_id_method_request_id"),
        ),
    )
    op.create_table(
        "sites",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("default_sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sites_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_index("ix_sites_account_id_id", "sites", ["account_id", "id"], unique=False)

    op.create_table(
        "sectors",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sectors_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_sectors_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sectors")),
        sa.UniqueConstraint("site_id", "slug", name=op.f("uq_sectors_site_id_slug")),
    )
    op.create_index("ix_sectors_account_id_site_id", "sectors", ["account_id", "site_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active_site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_users_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["active_site_id"], ["sites.id"], name=op.f("fk_users_active_site_id_sites"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_account_id"), "users", ["account_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)

    op.create_table(
        "automation_runs",
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("items_done", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("items_skipped", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.BigInteger(), nullable=False),
        sa.Column("created_by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_automation_runs_state_valid"),
        ),
        sa.CheckConstraint("stage IN (0, 3, 4, 5, 6)", name=op.f("ck_automation_runs_stage_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_automation_runs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_automation_runs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_automation_runs_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_automation_runs_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_runs")),
    )
    op.create_index(
        "ix_automation_runs_account_site_create_time_id",
        "automation_runs",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_automation_runs_account_site_sector_id",
        "automation_runs",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_automation_runs_account_state_id", "automation_runs", ["account_id", "state", "id"], unique=False
    )

    op.create_table(
        "clusters",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("search_volume", sa.BigInteger(), nullable=False),
        sa.Column("keyword_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'archived')", name=op.f("ck_clusters_status_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_clusters_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_clusters_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_clusters_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
    )
    op.create_index(
        "ix_clusters_account_site_create_time_id",
        "clusters",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_clusters_account_site_sector_id",
        "clusters",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )
    op.create_index("ix_clusters_account_status_id", "clusters", ["account_id", "status", "id"], unique=False)

    op.create_table(
        "content_taxonomies",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("taxonomy_type", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("external_taxonomy", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("sync_status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "sync_status IN ('native', 'imported', 'pending', 'synced', 'failed')",
            name=op.f("ck_content_taxonomies_sync_status_valid"),
        ),
        sa.CheckConstraint(
            "taxonomy_type IN ('category', 'tag')", name=op.f("ck_content_taxonomies_taxonomy_type_valid")
        ),
        sa.CheckConstraint("count >= 0", name=op.f("ck_content_taxonomies_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_content_taxonomies_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["content_taxonomies.id"],
            name=op.f("fk_content_taxonomies_parent_id_content_taxonomies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_content_taxonomies_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_content_taxonomies_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_taxonomies")),
        sa.UniqueConstraint(
            "site_id",
            "external_taxonomy",
            "external_id",
            name=op.f("uq_content_taxonomies_site_id_external_taxonomy_external_id"),
        ),
        sa.UniqueConstraint(
            "site_id", "slug", "taxonomy_type", name=op.f("uq_content_taxonomies_site_id_slug_taxonomy_type")
        ),
    )
    op.create_index(
        "ix_content_taxonomies_account_site_create_time_id",
        "content_taxonomies",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_content_taxonomies_account_site_sector_id",
        "content_taxonomies",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )

    op.create_table(
        "jobs",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("wait_requested", sa.Boolean(), nullable=False),
        sa.Column("total_items", sa.Integer(), nullable=False),
        sa.Column("succeeded_items", sa.Integer(), nullable=False),
        sa.Column("failed_items", sa.Integer(), nullable=False),
        sa.Column("cancelled_items", sa.Integer(), nullable=False),
        sa.Column("credits_reserved", sa.BigInteger(), nullable=False),
        sa.Column("credits_charged", sa.BigInteger(), nullable=False),
        sa.Column("credits_released", sa.BigInteger(), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('content_generation', 'image_prompts', 'image_generation')",
            name=op.f("ck_jobs_kind_valid"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_jobs_state_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_jobs_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_jobs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_jobs_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_jobs_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("account_id", "request_id", name=op.f("uq_jobs_account_id_request_id")),
    )
    op.create_index("ix_jobs_account_create_time_id", "jobs", ["account_id", "create_time", "id"], unique=False)
    op.create_index("ix_jobs_account_state_id", "jobs", ["account_id", "state", "id"], unique=False)

    op.create_table(
        "content_ideas",
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target_keywords", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content_structure", sa.String(length=32), nullable=False),
        sa.Column("estimated_word_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("taxonomy_term_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "content_structure IN ('article', 'listicle', 'how_to', 'comparison', 'review', 'landing_page', 'guide')",
            name=op.f("ck_content_ideas_content_structure_valid"),
        ),
        sa.CheckConstraint(
            "content_type IN ('post', 'page', 'product', 'service', 'taxonomy')",
            name=op.f("ck_content_ideas_content_type_valid"),
        ),
        sa.CheckConstraint("status IN ('new', 'queued', 'completed')", name=op.f("ck_content_ideas_status_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_content_ideas_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_content_ideas_cluster_id_clusters")),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_content_ideas_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_content_ideas_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["content_taxonomies.id"],
            name=op.f("fk_content_ideas_taxonomy_term_id_content_taxonomies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_ideas")),
    )
    op.create_index(
        "ix_content_ideas_account_site_create_time_id",
        "content_ideas",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_content_ideas_account_site_sector_id",
        "content_ideas",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )
    op.create_index("ix_content_ideas_account_status_id", "content_ideas", ["account_id", "status", "id"], unique=False)
    op.create_index("ix_content_ideas_cluster_id", "content_ideas", ["cluster_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idea_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("taxonomy_term_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content_structure", sa.String(length=32), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "content_structure IN ('article', 'listicle', 'how_to', 'comparison', 'review', 'landing_page', 'guide')",
            name=op.f("ck_tasks_content_structure_valid"),
        ),
        sa.CheckConstraint(
            "content_type IN ('post', 'page', 'product', 'service', 'taxonomy')",
            name=op.f("ck_tasks_content_type_valid"),
        ),
        sa.CheckConstraint("status IN ('queued', 'completed')", name=op.f("ck_tasks_status_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tasks_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_tasks_cluster_id_clusters")),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["content_ideas.id"],
            name=op.f("fk_tasks_idea_id_content_ideas"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_tasks_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_tasks_site_id_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"],
            ["content_taxonomies.id"],
            name=op.f("fk_tasks_taxonomy_term_id_content_taxonomies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("idea_id", name=op.f("uq_tasks_idea_id")),
    )
    op.create_index(
        "ix_tasks_account_site_create_time_id",
        "tasks",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tasks_account_site_sector_id", "tasks", ["account_id", "site_id", "sector_id", "id"], unique=False
    )
    op.create_index("ix_tasks_account_status_id", "tasks", ["account_id", "status", "id"], unique=False)
    op.create_index("ix_tasks_cluster_id", "tasks", ["cluster_id"], unique=False)

    op.create_table(
        "contents",
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("meta_title", sa.String(length=255), nullable=False),
        sa.Column("meta_description", sa.Text(), nullable=False),
        sa.Column("primary_keyword", sa.String(length=255), nullable=False),
        sa.Column("secondary_keywords", sa.JSON(), nullable=False),
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content_structure", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("external_type", sa.String(length=64), nullable=True),
        sa.Column("external_metadata", sa.JSON(), nullable=False),
        sa.Column("sync_status", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("publish_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "content_structure IN ('article', 'listicle', 'how_to', 'comparison', 'review', 'landing_page', 'guide')",
            name=op.f("ck_contents_content_structure_valid"),
        ),
        sa.CheckConstraint(
            "content_type IN ('post', 'page', 'product', 'service', 'taxonomy')",
            name=op.f("ck_contents_content_type_valid"),
        ),
        sa.CheckConstraint("source IN ('igny8', 'wordpress')", name=op.f("ck_contents_source_valid")),
        sa.CheckConstraint("status IN ('draft', 'review', 'published')", name=op.f("ck_contents_status_valid")),
        sa.CheckConstraint(
            "sync_status IN ('native', 'imported', 'pending', 'synced', 'failed')",
            name=op.f("ck_contents_sync_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contents_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_contents_cluster_id_clusters"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_contents_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_contents_site_id_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_contents_task_id_tasks"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contents")),
    )
    op.create_index(
        "ix_contents_account_site_create_time_id",
        "contents",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contents_account_site_sector_id",
        "contents",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )
    op.create_index("ix_contents_account_status_id", "contents", ["account_id", "status", "id"], unique=False)
    op.create_index("ix_contents_cluster_id", "contents", ["cluster_id"], unique=False)
    op.create_index("ix_contents_task_id", "contents", ["task_id"], unique=False)

    op.create_table(
        "content_attributes",
        sa.Column("content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attribute_type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "attribute_type IN ('product_spec', 'service_modifier', 'semantic_facet')",
            name=op.f("ck_content_attributes_attribute_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_content_attributes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_content_attributes_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_content_attributes_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_content_attributes_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_content_attributes_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_content_attributes_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_attributes")),
    )
    op.create_index("ix_content_attributes_cluster_id", "content_attributes", ["cluster_id"], unique=False)
    op.create_index("ix_content_attributes_content_id", "content_attributes", ["content_id"], unique=False)
    op.create_index("ix_content_attributes_task_id", "content_attributes", ["task_id"], unique=False)

    op.create_table(
        "content_cluster_maps",
        sa.Column("content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('hub', 'supporting', 'attribute')", name=op.f("ck_content_cluster_maps_role_valid")
        ),
        sa.CheckConstraint(
            "source IN ('blueprint', 'manual', 'import')", name=op.f("ck_content_cluster_maps_source_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_content_cluster_maps_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_content_cluster_maps_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_content_cluster_maps_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_content_cluster_maps_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_content_cluster_maps_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_content_cluster_maps_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_cluster_maps")),
    )
    op.create_index("ix_content_cluster_maps_cluster_id", "content_cluster_maps", ["cluster_id"], unique=False)
    op.create_index("ix_content_cluster_maps_content_id", "content_cluster_maps", ["content_id"], unique=False)
    op.create_index("ix_content_cluster_maps_task_id", "content_cluster_maps", ["task_id"], unique=False)

    op.create_table(
        "content_taxonomy_links",
        sa.Column("content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("taxonomy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_content_taxonomy_links_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_id"],
            ["content_taxonomies.id"],
            name=op.f("fk_content_taxonomy_links_taxonomy_id_content_taxonomies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_id", "taxonomy_id", name=op.f("pk_content_taxonomy_links")),
    )
    op.create_index("ix_content_taxonomy_links_taxonomy_id", "content_taxonomy_links", ["taxonomy_id"], unique=False)

    op.create_table(
        "images",
        sa.Column("content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("image_type", sa.String(length=32), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=False),
        sa.Column("image_path", sa.String(length=1024), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("alt_text", sa.String(length=512), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("format IN ('png', 'webp', 'jpeg')", name=op.f("ck_images_format_valid")),
        sa.CheckConstraint("image_type IN ('featured', 'in_article')", name=op.f("ck_images_image_type_valid")),
        sa.CheckConstraint("status IN ('pending', 'generated', 'failed')", name=op.f("ck_images_status_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_images_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["content_id"], ["contents.id"], name=op.f("fk_images_content_id_contents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_images_sector_id_sectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_images_site_id_sites"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_images_task_id_tasks"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
    )
    op.create_index(
        "ix_images_account_site_create_time_id",
        "images",
        ["account_id", "site_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_images_account_site_sector_id",
        "images",
        ["account_id", "site_id", "sector_id", "id"],
        unique=False,
    )
    op.create_index("ix_images_account_status_id", "images", ["account_id", "status", "id"], unique=False)
    op.create_index("ix_images_content_id_position", "images", ["content_id", "position"], unique=False)
    op.create_index("ix_images_task_id", "images", ["task_id"], unique=False)

    op.create_table(
        "job_items",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("image_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("result_content_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("credits_reserved", sa.BigInteger(), nullable=False),
        sa.Column("credits_charged", sa.BigInteger(), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_job_items_state_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["contents.id"],
            name=op.f("fk_job_items_content_id_contents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_job_items_image_id_images"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_items_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["result_content_id"],
            ["contents.id"],
            name=op.f("fk_job_items_result_content_id_contents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_job_items_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_items")),
        sa.UniqueConstraint("job_id", "position", name=op.f("uq_job_items_job_id_position")),
    )
    op.create_index("ix_job_items_task_id", "job_items", ["task_id"], unique=False)

    op.create_table(
        "ai_request_logs",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("job_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("automation_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint(
            "operation IN ('content_generation', 'image_prompts', 'image_generation')",
            name=op.f("ck_ai_request_logs_operation_valid"),
        ),
        sa.CheckConstraint("outcome IN ('success', 'error')", name=op.f("ck_ai_request_logs_outcome_valid")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ai_request_logs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["automation_run_id"],
            ["automation_runs.id"],
            name=op.f("fk_ai_request_logs_automation_run_id_automation_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_ai_request_logs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["job_item_id"],
            ["job_items.id"],
            name=op.f("fk_ai_request_logs_job_item_id_job_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_ai_request_logs_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_ai_request_logs_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_request_logs")),
    )
    op.create_index("ix_ai_request_logs_account_id_id", "ai_request_logs", ["account_id", "id"], unique=False)
    op.create_index("ix_ai_request_logs_automation_run_id", "ai_request_logs", ["automation_run_id"], unique=False)
    op.create_index("ix_ai_request_logs_job_id", "ai_request_logs", ["job_id"], unique=False)

    op.create_table(
        "credit_transactions",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("job_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "kind IN ('grant', 'reserve', 'settle', 'release', 'adjust')",
            name=op.f("ck_credit_transactions_kind_valid"),
        ),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_credit_transactions_balance_after_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_transactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_credit_transactions_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["job_item_id"],
            ["job_items.id"],
            name=op.f("fk_credit_transactions_job_item_id_job_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transactions")),
    )
    op.create_index("ix_credit_transactions_account_id_id", "credit_transactions", ["account_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_credit_transactions_account_id_id", table_name="credit_transactions")

    op.drop_table("credit_transactions")
    op.drop_index("ix_ai_request_logs_job_id", table_name="ai_request_logs")
    op.drop_index("ix_ai_request_logs_automation_run_id", table_name="ai_request_logs")
    op.drop_index("ix_ai_request_logs_account_id_id", table_name="ai_request_logs")

    op.drop_table("ai_request_logs")
    op.drop_index("ix_job_items_task_id", table_name="job_items")

    op.drop_table("job_items")
    op.drop_index("ix_images_task_id", table_name="images")
    op.drop_index("ix_images_content_id_position", table_name="images")
    op.drop_index("ix_images_account_status_id", table_name="images")
    op.drop_index("ix_images_account_site_sector_id", table_name="images")
    op.drop_index("ix_images_account_site_create_time_id", table_name="images")

    op.drop_table("images")
    op.drop_index("ix_content_taxonomy_links_taxonomy_id", table_name="content_taxonomy_links")

    op.drop_table("content_taxonomy_links")
    op.drop_index("ix_content_cluster_maps_task_id", table_name="content_cluster_maps")
    op.drop_index("ix_content_cluster_maps_content_id", table_name="content_cluster_maps")
    op.drop_index("ix_content_cluster_maps_cluster_id", table_name="content_cluster_maps")

    op.drop_table("content_cluster_maps")
    op.drop_index("ix_content_attributes_task_id", table_name="content_attributes")
    op.drop_index("ix_content_attributes_content_id", table_name="content_attributes")
    op.drop_index("ix_content_attributes_cluster_id", table_name="content_attributes")

    op.drop_table("content_attributes")
    op.drop_index("ix_contents_task_id", table_name="contents")
    op.drop_index("ix_contents_cluster_id", table_name="contents")
    op.drop_index("ix_contents_account_status_id", table_name="contents")
    op.drop_index("ix_contents_account_site_sector_id", table_name="contents")
    op.drop_index("ix_contents_account_site_create_time_id", table_name="contents")

    op.drop_table("contents")
    op.drop_index("ix_tasks_cluster_id", table_name="tasks")
    op.drop_index("ix_tasks_account_status_id", table_name="tasks")
    op.drop_index("ix_tasks_account_site_sector_id", table_name="tasks")
    op.drop_index("ix_tasks_account_site_create_time_id", table_name="tasks")

    op.drop_table("tasks")
    op.drop_index("ix_content_ideas_cluster_id", table_name="content_ideas")
    op.drop_index("ix_content_ideas_account_status_id", table_name="content_ideas")
    op.drop_index("ix_content_ideas_account_site_sector_id", table_name="content_ideas")
    op.drop_index("ix_content_ideas_account_site_create_time_id", table_name="content_ideas")

    op.drop_table("content_ideas")
    op.drop_index("ix_jobs_account_state_id", table_name="jobs")
    op.drop_index("ix_jobs_account_create_time_id", table_name="jobs")

    op.drop_table("jobs")
    op.drop_index("ix_content_taxonomies_account_site_sector_id", table_name="content_taxonomies")
    op.drop_index("ix_content_taxonomies_account_site_create_time_id", table_name="content_taxonomies")

    op.drop_table("content_taxonomies")
    op.drop_index("ix_clusters_account_status_id", table_name="clusters")
    op.drop_index("ix_clusters_account_site_sector_id", table_name="clusters")
    op.drop_index("ix_clusters_account_site_create_time_id", table_name="clusters")

    op.drop_table("clusters")
    op.drop_index("ix_automation_runs_account_state_id", table_name="automation_runs")
    op.drop_index("ix_automation_runs_account_site_sector_id", table_name="automation_runs")
    op.drop_index("ix_automation_runs_account_site_create_time_id", table_name="automation_runs")

    op.drop_table("automation_runs")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_account_id"), table_name="users")

    op.drop_table("users")
    op.drop_index("ix_sectors_account_id_site_id", table_name="sectors")

    op.drop_table("sectors")
    op.drop_index("ix_sites_account_id_id", table_name="sites")

    op.drop_table("sites")
    op.drop_table("idempotency_records")
    op.drop_table("accounts")
