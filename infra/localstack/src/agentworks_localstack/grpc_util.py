"""Small helpers for serving Google APIs with grpc.aio generic handlers and proto-plus message types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import empty_pb2


class AbortError(Exception):
    """Raised by a handler to end the call with a gRPC status, as the real service would."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def serializer(message_type: Any) -> Callable[[Any], bytes]:
    if message_type is empty_pb2.Empty:
        return lambda message: bytes(message.SerializeToString())
    serialize: Callable[[Any], bytes] = message_type.serialize
    return serialize


def deserializer(message_type: Any) -> Callable[[bytes], Any]:
    if message_type is empty_pb2.Empty:
        return empty_pb2.Empty.FromString  # type: ignore[no-any-return]
    deserialize: Callable[[bytes], Any] = message_type.deserialize
    return deserialize


def unary(fn: Callable[[Any], Any], request_type: Any, response_type: Any) -> grpc.RpcMethodHandler:
    """A unary-unary handler around a plain function; ``AbortError`` becomes the call's status."""

    async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return fn(request)
        except AbortError as exc:
            await context.abort(exc.code, exc.message)

    return grpc.unary_unary_rpc_method_handler(
        handler, request_deserializer=deserializer(request_type), response_serializer=serializer(response_type)
    )


def server_stream(fn: Callable[[Any], list[Any]], request_type: Any, response_type: Any) -> grpc.RpcMethodHandler:
    """A unary-stream handler around a function returning every response at once."""

    async def handler(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            responses = fn(request)
        except AbortError as exc:
            await context.abort(exc.code, exc.message)
        for response in responses:
            yield response

    return grpc.unary_stream_rpc_method_handler(
        handler, request_deserializer=deserializer(request_type), response_serializer=serializer(response_type)
    )
