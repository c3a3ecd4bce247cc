"""The schema enforces what the models promise, on SQLite and PostgreSQL alike.

Each test works in one transaction and rolls it back, so tests share a migrated database per backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Engine, UniqueConstraint, delete, func, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from tests.db_urls import BACKENDS, empty_database_url
from writer_service.db import migrate
from writer_service.db.base import Base
from writer_service.db.engine import create_sync_engine
from writer_service.db.models import (
    Account,
    Cluster,
    Content,
    ContentIdea,
    ContentTaxonomy,
    ContentTaxonomyLink,
    Image,
    Job,
    JobItem,
    Sector,
    Site,
    Task,
)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with empty_database_url(request.param, tmp_path_factory.mktemp("models")) as url:
        migrate.upgrade(url)
        engine = create_sync_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
        session.rollback()


# --- factories ------------------------------------------------------------------------------------


@dataclass
class Tenant:
    account: Account
    site: Site
    sector: Sector

    def owner(self) -> dict[str, int]:
        """The account/site/sector columns of a row this tenant owns."""
        return {"account_id": self.account.id, "site_id": self.site.id, "sector_id": self.sector.id}


def make_tenant(session: Session, *, account: Account | None = None, credits: int = 0) -> Tenant:
    if account is None:
        account = Account(name="Acme", slug=f"acme-{uuid4().hex[:12]}", credits=credits)
        session.add(account)
        session.flush()
    site = Site(account_id=account.id, name="Acme blog")
    session.add(site)
    session.flush()
    sector = Sector(account_id=account.id, site_id=site.id, name="General", slug="general")
    session.add(sector)
    session.flush()
    return Tenant(account, site, sector)


def make_cluster(session: Session, tenant: Tenant) -> Cluster:
    cluster = Cluster(**tenant.owner(), name="coffee grinders")
    session.add(cluster)
    session.flush()
    return cluster


def make_task(session: Session, tenant: Tenant, **fields: Any) -> Task:
    fields.setdefault("cluster_id", make_cluster(session, tenant).id)
    task = Task(**tenant.owner(), title="Best burr grinders", **fields)
    session.add(task)
    session.flush()
    return task


def make_term(session: Session, tenant: Tenant, **fields: Any) -> ContentTaxonomy:
    fields.setdefault("name", "News")
    fields.setdefault("slug", "news")
    fields.setdefault("taxonomy_type", "category")
    term = ContentTaxonomy(**tenant.owner(), **fields)
    session.add(term)
    session.flush()
    return term


# --- helpers --------------------------------------------------------------------------------------


def violated_constraint(error: IntegrityError) -> str:
    """The name of the constraint a write broke, the same on both backends."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:  # psycopg names it
        return str(diag.constraint_name)
    # SQLite: "CHECK constraint failed: <name>" or "UNIQUE constraint failed: <table>.<col>, ..."
    kind, _, detail = str(error.orig).partition(" constraint failed: ")
    if kind != "UNIQUE":
        return detail
    columns = [qualified.split(".", 1)[1] for qualified in detail.split(", ")]
    table = Base.metadata.tables[detail.split(".", 1)[0]]
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and [c.name for c in constraint.columns] == columns:
            return str(constraint.name)
    return detail


def rejected_by(session: Session, *rows: Base) -> str:
    """Flush `rows`, expect the database to refuse, and name the constraint that did."""
    session.add_all(rows)
    with pytest.raises(IntegrityError) as caught:
        session.flush()
    session.rollback()
    return violated_constraint(caught.value)


# --- constraints ----------------------------------------------------------------------------------


def test_taxonomy_slug_and_type_are_unique_per_site(session: Session) -> None:
    tenant = make_tenant(session)
    other_site = make_tenant(session, account=tenant.account)
    make_term(session, tenant, slug="news", taxonomy_type="category")
    make_term(session, tenant, slug="news", taxonomy_type="tag")  # same slug, other type
    make_term(session, other_site, slug="news", taxonomy_type="category")  # same slug, other site

    duplicate = ContentTaxonomy(**tenant.owner(), name="News 2", slug="news", taxonomy_type="category")

    assert rejected_by(session, duplicate) == "uq_content_taxonomies_site_id_slug_taxonomy_type"


def test_taxonomy_external_taxonomy_and_id_are_unique_per_site(session: Session) -> None:
    tenant = make_tenant(session)
    make_term(session, tenant, slug="a", external_taxonomy="category", external_id="17")
    make_term(session, tenant, slug="b", external_taxonomy="post_tag", external_id="17")
    make_term(session, tenant, slug="c")  # native terms (NULL external ids) never collide
    make_term(session, tenant, slug="d")

    duplicate = ContentTaxonomy(
        **tenant.owner(),
        name="Again",
        slug="e",
        taxonomy_type="category",
        external_taxonomy="category",
        external_id="17",
    )

    assert rejected_by(session, duplicate) == "uq_content_taxonomies_site_id_external_taxonomy_external_id"


def test_an_idea_gives_at_most_one_task(session: Session) -> None:
    tenant = make_tenant(session)
    cluster = make_cluster(session, tenant)
    idea = ContentIdea(**tenant.owner(), cluster_id=cluster.id, title="Grinder guide")
    session.add(idea)
    session.flush()
    make_task(session, tenant, cluster_id=cluster.id, idea_id=idea.id)

    second = Task(**tenant.owner(), title="Again", cluster_id=cluster.id, idea_id=idea.id)

    assert rejected_by(session, second) == "uq_tasks_idea_id"


def test_account_credits_never_go_below_zero(session: Session) -> None:
    broke = Account(name="Broke", slug=f"broke-{uuid4().hex[:12]}", credits=-1)

    assert rejected_by(session, broke) == "ck_accounts_credits_not_negative"


def test_status_outside_the_vocabulary_is_rejected(session: Session) -> None:
    tenant = make_tenant(session)
    cluster = make_cluster(session, tenant)

    task = Task(**tenant.owner(), title="t", cluster_id=cluster.id, status="in_progress")

    assert rejected_by(session, task) == "ck_tasks_status_valid"


def test_version_bumps_on_every_update_and_guards_stale_writes(session: Session) -> None:
    task = make_task(session, make_tenant(session))
    assert task.version == 1

    task.title = "Better burr grinders"
    session.flush()
    assert task.version == 2

    # Another writer moves the row on behind this session's back; its copy is now stale.
    session.execute(
        update(Task).where(Task.id == task.id).values(version=Task.version + 1),
        execution_options={"synchronize_session": False},
    )
    task.title = "Lost update"
    with pytest.raises(StaleDataError):
        session.flush()


# --- relationships and deletes --------------------------------------------------------------------


def test_relationships_load_only_when_asked(session: Session) -> None:
    tenant = make_tenant(session)
    task = make_task(session, tenant)
    content = Content(**tenant.owner(), title="Grinders", task_id=task.id, cluster_id=task.cluster_id)
    content.taxonomy_terms = [make_term(session, tenant, slug="gear"), make_term(session, tenant, slug="diy")]
    session.add(content)
    job = Job(**tenant.owner(), kind="content_generation")
    job.items = [JobItem(position=2, task_id=task.id), JobItem(position=1, task_id=task.id)]
    session.add(job)
    session.flush()
    session.expunge_all()

    plain = session.get(Task, task.id)
    assert plain is not None
    with pytest.raises(InvalidRequestError):
        _ = plain.cluster
    loaded_content = session.scalars(
        select(Content).where(Content.id == content.id).options(selectinload(Content.taxonomy_terms))
    ).one()
    loaded_job = session.scalars(select(Job).where(Job.id == job.id).options(selectinload(Job.items))).one()

    assert [t.slug for t in loaded_content.taxonomy_terms] == ["gear", "diy"]
    assert [i.position for i in loaded_job.items] == [1, 2]
    link_times = session.scalars(
        select(ContentTaxonomyLink.create_time).where(ContentTaxonomyLink.content_id == content.id)
    ).all()
    assert len(link_times) == 2 and all(t.tzinfo is not None for t in link_times)


def test_deleting_an_account_removes_everything_it_owns(session: Session) -> None:
    tenant = make_tenant(session, credits=10)
    task = make_task(session, tenant, taxonomy_term_id=make_term(session, tenant).id)
    content = Content(**tenant.owner(), task_id=task.id, cluster_id=task.cluster_id)
    session.add(content)
    session.flush()
    session.add(Image(**tenant.owner(), content_id=content.id, task_id=task.id))
    session.flush()
    account_id = tenant.account.id
    session.expunge_all()

    session.execute(delete(Account).where(Account.id == account_id))

    for model in (Site, Sector, Cluster, Task, Content, ContentTaxonomy, Image):
        remaining = session.scalar(select(func.count()).select_from(model).where(model.account_id == account_id))
        assert remaining == 0, model.__name__
