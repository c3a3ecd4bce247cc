"""One tenant's rows of every kind the writer RPCs address (live, in review, soft-deleted, with a
file), made through the real RPCs, for tests that aim calls of other callers at them."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from igny8.writer.v1 import content_pb2, images_pb2, planner_pb2, tasks_pb2
from tests.conftest import Tenant
from tests.factories.content import content_stub, make_content, publishable_fields, to_review
from tests.factories.images import image_bytes, images_stub, make_image, upload_file
from tests.factories.planner import make_cluster, make_idea, planner_stub
from tests.factories.tasks import make_task, tasks_stub
from tests.factories.taxonomy import make_term


@dataclass(frozen=True)
class TenantRows:
    """The ids of one tenant's rows, by what they are."""

    owner: Tenant
    cluster: int
    cluster_name: str
    deleted_cluster: int
    idea: int
    deleted_idea: int
    task: int
    deleted_task: int
    content: int
    review_content: int
    deleted_content: int
    term: int
    term_slug: str
    image: int
    deleted_image: int
    file_image: int
    file_bytes: bytes


async def make_tenant_rows(channel: grpc.aio.Channel, owner: Tenant) -> TenantRows:
    """A cluster, an idea, a queued task, draft and in-review content, a category, a pending image
    with a prompt, an image with an uploaded file, and a soft-deleted row of each deletable kind."""
    md = owner.metadata()
    cluster = await make_cluster(channel, owner, keywords="solar panels, roofs")
    deleted_cluster = await make_cluster(channel, owner)
    await planner_stub(channel).DeleteCluster(planner_pb2.DeleteClusterRequest(id=deleted_cluster.id), metadata=md)
    idea = await make_idea(channel, owner, cluster_id=cluster.id)
    deleted_idea = await make_idea(channel, owner, cluster_id=cluster.id)
    await planner_stub(channel).DeleteContentIdea(planner_pb2.DeleteContentIdeaRequest(id=deleted_idea.id), metadata=md)
    task = await make_task(channel, owner, cluster_id=cluster.id, word_count=300, keywords="solar panels")
    deleted_task = await make_task(channel, owner, cluster_id=cluster.id)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=deleted_task.id), metadata=md)
    term = await make_term(channel, owner)
    content = await make_content(channel, owner, cluster_id=cluster.id, **publishable_fields())
    review = await to_review(channel, owner, await make_content(channel, owner, cluster_id=cluster.id,
                                                                  **publishable_fields()))
    deleted_content = await make_content(channel, owner, cluster_id=cluster.id)
    await content_stub(channel).DeleteContent(content_pb2.DeleteContentRequest(id=deleted_content.id), metadata=md)
    image = await make_image(channel, owner, content_id=content.id, prompt="Solar panels on a red roof")
    deleted_image = await make_image(channel, owner, content_id=content.id, image_type=images_pb2.IMAGE_TYPE_IN_ARTICLE)
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=deleted_image.id), metadata=md)
    file_image = await make_image(channel, owner, content_id=content.id, image_type=images_pb2.IMAGE_TYPE_IN_ARTICLE)
    data = image_bytes("PNG", (16, 9))
    await upload_file(channel, owner, file_image.id, data)
    return TenantRows(owner=owner, cluster=cluster.id, cluster_name=cluster.name, deleted_cluster=deleted_cluster.id,
                      idea=idea.id, deleted_idea=deleted_idea.id, task=task.id, deleted_task=deleted_task.id,
                      content=content.id, review_content=review.id, deleted_content=deleted_content.id,
                      term=term.id, term_slug=term.slug, image=image.id, deleted_image=deleted_image.id,
                      file_image=file_image.id, file_bytes=data)
