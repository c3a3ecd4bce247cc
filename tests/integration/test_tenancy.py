"""The metadata interceptor: API keys, tenant headers and roles, through the real gRPC stack."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import update

from igny8.writer.v1 import (
    billing_pb2,
    billing_pb2_grpc,
    images_pb2,
    images_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from tests.conftest import Tenant, TenantFactory
from tests.rich import expect_error
from writer_service.db.base import utcnow
from writer_service.db.models import ApiKey
from writer_service.tenancy.auth import hash_api_key

pytestmark = pytest.mark.asyncio(loop_scope="session")


def billing(channel: grpc.aio.Channel) -> billing_pb2_grpc.BillingServiceStub:
    return billing_pb2_grpc.BillingServiceStub(channel)


async def balance(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> billing_pb2.CreditBalance:
    return await billing(channel).GetCreditBalance(billing_pb2.GetCreditBalanceRequest(), metadata=metadata)


async def test_owner_reads_own_account(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=250)
    answer = await balance(channel, owner.metadata())
    assert (answer.account_id, answer.credits, answer.reserved) == (owner.account_id, 250, 0)


async def test_headers_are_optional_for_account_roles(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=7)
    answer = await balance(channel, (("authorization", f"Bearer {owner.api_key}"),))
    assert answer.account_id == owner.account_id


async def test_call_without_key_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    error = await expect_error(balance(channel, ()), grpc.StatusCode.UNAUTHENTICATED)
    assert error.info.reason == "API_KEY_MISSING"


@pytest.mark.parametrize("authorization", ["Bearer wsk_not-a-real-key", "Basic abc", "Bearer "])
async def test_wrong_or_malformed_key_is_unauthenticated(channel: grpc.aio.Channel, authorization: str) -> None:
    error = await expect_error(balance(channel, (("authorization", authorization),)),
                               grpc.StatusCode.UNAUTHENTICATED)
    assert error.info.reason in ("API_KEY_INVALID", "API_KEY_MALFORMED")


async def test_malformed_header_id_is_invalid_argument(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    md = (("authorization", f"Bearer {owner.api_key}"), ("x-site-id", "abc"))
    error = await expect_error(balance(channel, md), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "x-site-id"


async def test_sector_of_another_site_is_not_found(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    other_site = await tenants.site(owner)
    md = (("authorization", f"Bearer {owner.api_key}"), ("x-site-id", str(owner.site_id)),
          ("x-sector-id", str(other_site.sector_id)))
    error = await expect_error(balance(channel, md), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Sector"


async def test_site_of_another_account_is_not_found(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    md = (("authorization", f"Bearer {owner.api_key}"), ("x-site-id", str(stranger.site_id)))
    error = await expect_error(balance(channel, md), grpc.StatusCode.NOT_FOUND)
    info = error.detail(error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("Site", str(stranger.site_id))


async def test_sector_of_another_account_is_not_found(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    md = (("authorization", f"Bearer {owner.api_key}"), ("x-sector-id", str(stranger.sector_id)))
    await expect_error(balance(channel, md), grpc.StatusCode.NOT_FOUND)


async def test_account_role_naming_another_account_is_denied(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    md = (("authorization", f"Bearer {owner.api_key}"), ("x-account-id", str(stranger.account_id)))
    error = await expect_error(balance(channel, md), grpc.StatusCode.PERMISSION_DENIED)
    assert error.info.reason == "ACCOUNT_MISMATCH"


async def test_viewer_may_read(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    viewer = await tenants.account(role="viewer")
    assert (await balance(channel, viewer.metadata())).account_id == viewer.account_id


async def test_viewer_writing_is_permission_denied(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    viewer = await tenants.account(role="viewer")
    stub = tasks_pb2_grpc.TasksServiceStub(channel)
    error = await expect_error(
        stub.CreateTask(tasks_pb2.CreateTaskRequest(), metadata=viewer.metadata()), grpc.StatusCode.PERMISSION_DENIED
    )
    assert error.info.reason == "READ_ONLY_ROLE"
    assert error.info.metadata["role"] == "viewer"


async def test_editor_passes_the_write_check(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    editor = await tenants.account(role="editor")
    stub = tasks_pb2_grpc.TasksServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.BatchDeleteTasks(tasks_pb2.BatchDeleteTasksRequest(), metadata=editor.metadata())
    assert caught.value.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


@pytest.mark.parametrize("role", ["admin", "developer", "system"])
async def test_platform_role_acts_in_any_account_it_names(
    channel: grpc.aio.Channel, tenants: TenantFactory, role: str
) -> None:
    first = await tenants.account(credits=11)
    second = await tenants.account(credits=22)
    platform = await tenants.user(first, role)
    key = ("authorization", f"Bearer {platform.api_key}")
    assert (await balance(channel, (key, ("x-account-id", str(first.account_id))))).credits == 11
    assert (await balance(channel, (key, ("x-account-id", str(second.account_id))))).credits == 22
    # The site alone names its account.
    assert (await balance(channel, (key, ("x-site-id", str(second.site_id))))).account_id == second.account_id


async def test_platform_role_site_must_belong_to_named_account(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    first = await tenants.account()
    second = await tenants.account()
    admin = await tenants.user(first, "admin")
    md = (("authorization", f"Bearer {admin.api_key}"), ("x-account-id", str(first.account_id)),
          ("x-site-id", str(second.site_id)))
    await expect_error(balance(channel, md), grpc.StatusCode.NOT_FOUND)


async def test_platform_role_without_account_gets_failed_precondition(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    first = await tenants.account()
    admin = await tenants.user(first, "admin")
    error = await expect_error(balance(channel, (("authorization", f"Bearer {admin.api_key}"),)),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "ACCOUNT_REQUIRED"
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == "x-account-id"


async def test_image_file_needs_no_key(channel: grpc.aio.Channel) -> None:
    stub = images_pb2_grpc.ImagesServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stub.GetImageFile(images_pb2.GetImageFileRequest(image_id=999_999_999)):
            pass
    assert caught.value.code() != grpc.StatusCode.UNAUTHENTICATED


async def test_revoked_key_stops_working_after_the_cache_expires(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner: Tenant = await tenants.account()
    await balance(channel, owner.metadata())
    async with tenants.db.transaction() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_api_key(owner.api_key)).values(revoke_time=utcnow())
        )
    await asyncio.sleep(1.2)  # the test server caches keys for one second
    error = await expect_error(balance(channel, owner.metadata()), grpc.StatusCode.UNAUTHENTICATED)
    assert error.info.reason == "API_KEY_INVALID"


