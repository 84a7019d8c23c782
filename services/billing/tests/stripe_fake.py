"""A local fake of the slice of Stripe's HTTP API billing uses, so the real stripe SDK runs against it.

Customers, invoices (create, finalize, retrieve) and invoice items, with Stripe's form encoding, bearer-key
auth, error envelope and idempotency keys (same key and parameters: the first response replayed; same key,
other parameters: an ``idempotency_error``). Faults can be injected; webhooks are signed like Stripe's.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_KEY = "sk_test_agentworks_fake"


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[a]=1`` → ``{"metadata": {"a": "1"}}`` (Stripe's form encoding)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


def _error(status: int, kind: str, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, "code": code}}, status_code=status)


class StripeFake:
    """State and routes of the fake; ``requests`` records every call for assertions."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.customers: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.lose_response_once: set[str] = set()
        self.fail_next: dict[str, int] = {}
        self._replays: dict[str, tuple[str, str, dict[str, Any], int, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/customers", self._create_customer, methods=["POST"]),
                Route("/v1/invoices", self._create_invoice, methods=["POST"]),
                Route("/v1/invoices/{invoice_id}", self._get_invoice, methods=["GET"]),
                Route("/v1/invoices/{invoice_id}/finalize", self._finalize, methods=["POST"]),
                Route("/v1/invoiceitems", self._create_item, methods=["POST"]),
            ]
        )

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    async def _handle(self, request: Request, operation: Any) -> Response:
        path = request.url.path
        key = request.headers.get("idempotency-key")
        self.requests.append((request.method, path, key))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        params = _nest(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        with self._lock:
            if key is not None and key in self._replays:
                method, first_path, first_params, status, body = self._replays[key]
                if (method, first_path, first_params) != (request.method, path, params):
                    return _error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the parameters they were first used with.",
                    )
                return JSONResponse(body, status_code=status, headers={"idempotent-replayed": "true"})
            if path in self.fail_next:
                return _error(self.fail_next.pop(path), "api_error", "Injected failure.")
            status, body = operation(request, params)
            if key is not None and request.method == "POST":
                self._replays[key] = (request.method, path, params, status, body)
            if path in self.lose_response_once:
                self.lose_response_once.discard(path)
                return _error(500, "api_error", "The response was lost (injected).")
        return JSONResponse(body, status_code=status)

    async def _create_customer(self, request: Request) -> Response:
        def create(_request: Request, params: dict[str, Any]) -> tuple[int, Any]:
            customer = {"id": self._id("cus"), "object": "customer", "livemode": False, **params}
            self.customers[customer["id"]] = customer
            return 200, customer

        return await self._handle(request, create)

    async def _create_invoice(self, request: Request) -> Response:
        def create(_request: Request, params: dict[str, Any]) -> tuple[int, Any]:
            if params.get("customer") not in self.customers:
                return 400, {"error": {"type": "invalid_request_error", "message": "No such customer."}}
            invoice = {
                "id": self._id("in"),
                "object": "invoice",
                "livemode": False,
                "status": "draft",
                "amount_due": 0,
                "total": 0,
                "hosted_invoice_url": None,
                "status_transitions": {"finalized_at": None, "paid_at": None},
                **params,
            }
            self.invoices[invoice["id"]] = invoice
            return 200, invoice

        return await self._handle(request, create)

    async def _create_item(self, request: Request) -> Response:
        def create(_request: Request, params: dict[str, Any]) -> tuple[int, Any]:
            invoice = self.invoices.get(params.get("invoice", ""))
            if invoice is None or invoice["status"] != "draft":
                return 400, {"error": {"type": "invalid_request_error", "message": "The invoice is not a draft."}}
            item = {"id": self._id("ii"), "object": "invoiceitem", **params, "amount": int(params["amount"])}
            self.items[item["id"]] = item
            invoice["total"] = invoice["amount_due"] = invoice["total"] + item["amount"]
            return 200, item

        return await self._handle(request, create)

    async def _finalize(self, request: Request) -> Response:
        def finalize(request: Request, _params: dict[str, Any]) -> tuple[int, Any]:
            invoice = self.invoices.get(request.path_params["invoice_id"])
            if invoice is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such invoice."}}
            if invoice["status"] != "draft":
                return 400, {"error": {"type": "invalid_request_error", "message": "The invoice is already finalized."}}
            invoice["status"] = "open"
            invoice["status_transitions"] = {"finalized_at": int(time.time()), "paid_at": None}
            invoice["hosted_invoice_url"] = f"https://invoice.stripe.test/i/{invoice['id']}"
            return 200, dict(invoice)

        return await self._handle(request, finalize)

    async def _get_invoice(self, request: Request) -> Response:
        invoice = self.invoices.get(request.path_params["invoice_id"])
        if invoice is None:
            return _error(404, "invalid_request_error", "No such invoice.")
        return JSONResponse(invoice)

    def lines_of(self, invoice_id: str) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if item["invoice"] == invoice_id]


def webhook_event(event_id: str, kind: str, invoice: dict[str, Any]) -> bytes:
    body = {"id": event_id, "object": "event", "type": kind, "api_version": "2025-01-01", "data": {"object": invoice}}
    return json.dumps(body).encode()


def signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header: ``t=<unix time>,v1=<HMAC-SHA256 of "t.payload">``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"
