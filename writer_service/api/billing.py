"""BillingService: balance, ledger and AI request logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from igny8.writer.v1 import billing_pb2, billing_pb2_grpc
from writer_service.api.convert import list_query, timestamp, to_proto
from writer_service.services import billing
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    """Proto in, service call, proto out."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db

    async def GetCreditBalance(  # noqa: N802 - gRPC method name
        self, request: billing_pb2.GetCreditBalanceRequest, context: grpc.aio.ServicerContext
    ) -> billing_pb2.CreditBalance:
        balance = await billing.get_balance(self.db, current_tenant())
        return billing_pb2.CreditBalance(
            account_id=balance.account_id,
            credits=balance.credits,
            reserved=balance.reserved,
            update_time=timestamp(balance.update_time),
        )

    async def ListCreditTransactions(  # noqa: N802 - gRPC method name
        self, request: billing_pb2.ListCreditTransactionsRequest, context: grpc.aio.ServicerContext
    ) -> billing_pb2.ListCreditTransactionsResponse:
        page = await billing.list_credit_transactions(self.db, current_tenant(), query=list_query(request))
        return billing_pb2.ListCreditTransactionsResponse(
            credit_transactions=[to_proto(billing_pb2.CreditTransaction, row) for row in page.items],
            next_page_token=page.next_page_token,
        )

    async def ListAIRequestLogs(  # noqa: N802 - gRPC method name
        self, request: billing_pb2.ListAIRequestLogsRequest, context: grpc.aio.ServicerContext
    ) -> billing_pb2.ListAIRequestLogsResponse:
        page = await billing.list_ai_request_logs(self.db, current_tenant(), query=list_query(request))
        return billing_pb2.ListAIRequestLogsResponse(
            ai_request_logs=[to_proto(billing_pb2.AIRequestLog, row) for row in page.items],
            next_page_token=page.next_page_token,
        )
