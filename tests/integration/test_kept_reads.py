"""GetTask and ListTasks keep their statements by the shape of the caller's scope and bind the
caller's values on each call: callers of one shape, in turn, each see their own rows only."""

from __future__ import annotations

import grpc
import pytest
from grpc.aio import Channel

from igny8.writer.v1 import tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def page_ids(channel: Channel, tenant: Tenant, *, site: bool = True, sector: bool = True) -> list[int]:
    """Every task id the tenant lists, two to a page."""
    seen: list[int] = []
    token = ""
    while True:
        page = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(page_size=2, page_token=token),
                                                   metadata=tenant.metadata(site=site, sector=sector))
        seen += [t.id for t in page.tasks]
        if not (token := page.next_page_token):
            return seen


@pytest.mark.parametrize(("site", "sector"), [(True, True), (True, False), (False, False)])
async def test_callers_of_one_shape_in_turn_each_see_their_own_tasks(
    channel: Channel, tenants: TenantFactory, site: bool, sector: bool
) -> None:
    first, second = await tenants.account(), await tenants.account()
    mine = {tenant: [(await make_task(channel, tenant)).id for _ in range(3)] for tenant in (first, second)}
    for _ in range(2):  # the second round runs on the statements the first one kept
        for tenant, other in ((first, second), (second, first)):
            assert await page_ids(channel, tenant, site=site, sector=sector) == mine[tenant][::-1]
            got = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=mine[tenant][0]),
                                                    metadata=tenant.metadata(site=site, sector=sector))
            assert (got.id, got.account_id) == (mine[tenant][0], tenant.account_id)
            await expect_error(tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=mine[other][0]),
                                                           metadata=tenant.metadata(site=site, sector=sector)),
                               grpc.StatusCode.NOT_FOUND)


async def test_a_second_sector_in_turn_with_the_first_sees_only_its_own_tasks(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    other = await tenants.sector(owner)
    here, there = await make_task(channel, owner), await make_task(channel, other)
    for _ in range(2):
        assert await page_ids(channel, owner) == [here.id]
        assert await page_ids(channel, other) == [there.id]
        assert sorted(await page_ids(channel, owner, sector=False)) == sorted([here.id, there.id])
