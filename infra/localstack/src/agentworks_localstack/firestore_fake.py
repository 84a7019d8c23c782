"""A wire-level stand-in for Firestore: the subset of ``google.firestore.v1.Firestore`` that the documents
adapter uses (batched gets, transactions, commits with preconditions, single-collection queries), served
over gRPC so the real google-cloud-firestore client runs against it through ``FIRESTORE_EMULATOR_HOST``.

It exists for tests: ``make dev`` keeps documents in SQL. It keeps data in memory and applies each commit
atomically; it does not model contention between transactions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import firestore as api
from google.cloud.firestore_v1.types import query as query_types
from google.protobuf import empty_pb2

from agentworks_localstack.grpc_util import AbortError, server_stream, unary

Operator = query_types.StructuredQuery.FieldFilter.Operator
COMPARE = {
    Operator.LESS_THAN: lambda a, b: a < b,
    Operator.LESS_THAN_OR_EQUAL: lambda a, b: a <= b,
    Operator.GREATER_THAN: lambda a, b: a > b,
    Operator.GREATER_THAN_OR_EQUAL: lambda a, b: a >= b,
    Operator.EQUAL: lambda a, b: a == b,
    Operator.NOT_EQUAL: lambda a, b: a != b,
}


def _plain(value: document_types.Value) -> Any:
    kind = document_types.Value.pb(value).WhichOneof("value_type")
    return None if kind in (None, "null_value") else getattr(value, kind)


def _sort_key(field: str) -> Callable[[document_types.Document], Any]:
    return lambda doc: _plain(doc.fields[field]) if field in doc.fields else None


class FirestoreFake:
    """Documents by full resource name, in memory."""

    def __init__(self) -> None:
        self.documents: dict[str, document_types.Document] = {}

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        methods = {
            "BatchGetDocuments": server_stream(
                self.batch_get, api.BatchGetDocumentsRequest, api.BatchGetDocumentsResponse
            ),
            "BeginTransaction": unary(self.begin, api.BeginTransactionRequest, api.BeginTransactionResponse),
            "Commit": unary(self.commit, api.CommitRequest, api.CommitResponse),
            "Rollback": unary(lambda _request: empty_pb2.Empty(), api.RollbackRequest, empty_pb2.Empty),
            "RunQuery": server_stream(self.run_query, api.RunQueryRequest, api.RunQueryResponse),
        }
        return [grpc.method_handlers_generic_handler("google.firestore.v1.Firestore", methods)]

    def batch_get(self, request: api.BatchGetDocumentsRequest) -> list[api.BatchGetDocumentsResponse]:
        now = datetime.now(UTC)
        responses = []
        for name in request.documents:
            found = self.documents.get(name)
            responses.append(
                api.BatchGetDocumentsResponse(found=found, read_time=now)
                if found
                else api.BatchGetDocumentsResponse(missing=name, read_time=now)
            )
        if "new_transaction" in request and responses:
            responses[0].transaction = secrets.token_bytes(8)
        return responses

    def begin(self, _request: api.BeginTransactionRequest) -> api.BeginTransactionResponse:
        return api.BeginTransactionResponse(transaction=secrets.token_bytes(8))

    def commit(self, request: api.CommitRequest) -> api.CommitResponse:
        now = datetime.now(UTC)
        staged = dict(self.documents)
        for write in request.writes:
            if "delete" in write:
                staged.pop(write.delete, None)
                continue
            name = write.update.name
            self._check(write, name in staged)
            fields = dict(staged[name].fields) if name in staged and write.update_mask.field_paths else {}
            fields.update(write.update.fields)
            created = staged[name].create_time if name in staged else now
            staged[name] = document_types.Document(name=name, fields=fields, create_time=created, update_time=now)
        self.documents = staged
        return api.CommitResponse(write_results=[{"update_time": now} for _ in request.writes], commit_time=now)

    @staticmethod
    def _check(write: Any, exists: bool) -> None:
        if "current_document" not in write or "exists" not in write.current_document:
            return
        if write.current_document.exists and not exists:
            raise AbortError(grpc.StatusCode.NOT_FOUND, f"No document to update: {write.update.name}")
        if not write.current_document.exists and exists:
            raise AbortError(grpc.StatusCode.ALREADY_EXISTS, f"Document already exists: {write.update.name}")

    def run_query(self, request: api.RunQueryRequest) -> list[api.RunQueryResponse]:
        query = request.structured_query
        if len(query.from_) != 1 or query.from_[0].all_descendants:
            raise AbortError(grpc.StatusCode.UNIMPLEMENTED, "only single-collection queries are supported")
        prefix = f"{request.parent}/{query.from_[0].collection_id}/"
        matches = [
            d for name, d in self.documents.items() if name.startswith(prefix) and "/" not in name[len(prefix) :]
        ]
        matches = [d for d in matches if self._matches(query.where, d)] if "where" in query else matches
        for order in reversed(query.order_by):
            descending = order.direction == query_types.StructuredQuery.Direction.DESCENDING
            matches.sort(key=_sort_key(order.field.field_path), reverse=descending)
        if "limit" in query:
            matches = matches[: query.limit]
        now = datetime.now(UTC)
        return [api.RunQueryResponse(document=d, read_time=now) for d in matches] or [
            api.RunQueryResponse(read_time=now)
        ]

    def _matches(self, where: query_types.StructuredQuery.Filter, doc: document_types.Document) -> bool:
        if "composite_filter" in where:
            return all(self._matches(f, doc) for f in where.composite_filter.filters)
        if "field_filter" not in where:
            raise AbortError(grpc.StatusCode.UNIMPLEMENTED, "only field and AND filters are supported")
        condition = where.field_filter
        field = condition.field.field_path
        compare = COMPARE.get(condition.op)
        if compare is None:
            raise AbortError(grpc.StatusCode.UNIMPLEMENTED, f"operator {condition.op} is not supported")
        return field in doc.fields and bool(compare(_plain(doc.fields[field]), _plain(condition.value)))


async def serve_firestore(host: str = "127.0.0.1", port: int = 0) -> tuple[grpc.aio.Server, FirestoreFake, int]:
    fake = FirestoreFake()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(fake.handlers())
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server, fake, bound
