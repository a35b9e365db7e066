"""HTTP endpoints of the webhooks context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from marketplace.answers import from_row
from marketplace.dependencies import Caller, UoW
from marketplace.http import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_id_cursor,
    paginate,
    problem_responses,
)
from marketplace.webhooks.domain import (
    DISABLE_AFTER_FAILED_DELIVERIES,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    DeliveryState,
    EventType,
)
from marketplace.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from marketplace.webhooks.schemas import (
    WebhookDeliveryOut,
    WebhookDeliveryPage,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointPage,
    WebhookEndpointUpdate,
)
from marketplace.webhooks.sender import TargetGuard
from marketplace.webhooks.service import WebhooksService

EVENT_TYPE_LIST = "\n".join(f"- `{e.value}`" for e in EventType)


def _duration(delay: dt.timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


RETRY_TEXT = ", ".join(_duration(d) for d in RETRY_SCHEDULE)

CREATE_DESCRIPTION = f"""\
Register a URL to receive signed event notifications of your organization. The signing
`secret` is shown only in this response. The URL's host must resolve to public internet
addresses (checked now and at every delivery).

Each event is POSTed as JSON `{{"type": ..., "timestamp": ..., "data": {{...}}}}` with the
[Standard Webhooks](https://www.standardwebhooks.com/) headers `webhook-id` (the event id,
the same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 of `"{{webhook-id}}.{{webhook-timestamp}}.{{body}}"` keyed by
the base64-decoded secret after its `whsec_` prefix). Verify the signature with a
constant-time comparison and reject stale timestamps (e.g. older than 5 minutes).

Delivery is **at least once**: deduplicate by `webhook-id`. Events are not ordered. Any
2xx answer (within 10 seconds; redirects are not followed; its body is not read) counts as
delivered; anything else — another status, a timeout, a refused or broken connection — is
an attempt, logged with the status and the first 200 bytes of the answer, and retried after
{RETRY_TEXT} ({MAX_ATTEMPTS} attempts in all). A `Retry-After` (delay-seconds or HTTP-date)
postpones a retry, up to {_duration(MAX_RETRY_AFTER)}. 410 Gone disables the
endpoint at once, as do {DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row that fail after all
retries; re-enable it with `PATCH {{"enabled": true}}` and redeliver what it missed.

Event types:
{EVENT_TYPE_LIST}
"""


def endpoint_out(e: WebhookEndpoint) -> WebhookEndpointOut:
    return from_row(WebhookEndpointOut, e)


def delivery_out(d: WebhookDelivery, attempts: list[WebhookDeliveryAttempt]) -> WebhookDeliveryOut:
    return from_row(WebhookDeliveryOut, d, attempts=attempts)


def service(uow: UoW, request: Request[Any, Any, Any]) -> WebhooksService:
    settings = request.app.state.settings
    return WebhooksService(uow, TargetGuard(allow_private=settings.webhook_allow_private_targets))


class WebhookController(Controller):
    path = "/v1"
    tags = ["webhooks"]

    @post(
        "/webhook-endpoints",
        operation_id="createWebhookEndpoint",
        summary="Register a webhook endpoint (organization admin); the secret is shown once",
        description=CREATE_DESCRIPTION,
        responses=problem_responses(400, 401, 403, 422),
    )
    async def create_endpoint(
        self,
        data: JSONBody[WebhookEndpointCreate],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
    ) -> WebhookEndpointCreated:
        endpoint = await service(uow, request).create_endpoint(principal, data)
        await uow.commit()
        return from_row(WebhookEndpointCreated, endpoint)

    @get(
        "/webhook-endpoints",
        operation_id="listWebhookEndpoints",
        description=(
            "Your organization's webhook endpoints (the platform sees all), never their "
            "secrets. Needs an `admin` or `viewer` key."
        ),
        summary="Your organization's webhook endpoints (the platform sees all)",
        responses=problem_responses(400, 401, 403),
    )
    async def list_endpoints(
        self,
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> WebhookEndpointPage:
        rows = await service(uow, request).list_endpoints(
            principal, after=decode_id_cursor(cursor), limit=limit + 1
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return WebhookEndpointPage(
            items=[endpoint_out(e) for e in page],
            next_cursor=next_cursor,
        )

    @get(
        "/webhook-endpoints/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        description=(
            "One webhook endpoint: URL, subscribed event types, whether it is enabled "
            "(and why not). Never its secret. Needs an `admin` or `viewer` key."
        ),
        summary="One webhook endpoint (never its secret)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_endpoint(
        self,
        endpoint_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
    ) -> WebhookEndpointOut:
        return endpoint_out(await service(uow, request).get_endpoint(principal, endpoint_id))

    @patch(
        "/webhook-endpoints/{endpoint_id:uuid}",
        operation_id="updateWebhookEndpoint",
        description=(
            "An `admin` key changes a webhook endpoint's URL, event types or description;"
            " `enabled: true` re-enables one disabled after failures. A URL that is not "
            "usable HTTPS is 422 `webhooks.invalid_url`; one resolving to a private "
            "address is 422 `webhooks.unsafe_url`."
        ),
        summary="Change a webhook endpoint; `enabled: true` re-enables a disabled one",
        responses=problem_responses(400, 401, 403, 404, 422),
    )
    async def update_endpoint(
        self,
        endpoint_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookEndpointUpdate],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
    ) -> WebhookEndpointOut:
        endpoint = await service(uow, request).update_endpoint(principal, endpoint_id, data)
        await uow.commit()
        return endpoint_out(endpoint)

    @delete(
        "/webhook-endpoints/{endpoint_id:uuid}",
        operation_id="deleteWebhookEndpoint",
        description=(
            "An `admin` key deletes a webhook endpoint and its delivery log; nothing more"
            " is sent to it."
        ),
        summary="Delete a webhook endpoint and its delivery log",
        responses=problem_responses(401, 403, 404),
    )
    async def delete_endpoint(
        self,
        endpoint_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
    ) -> None:
        await service(uow, request).delete_endpoint(principal, endpoint_id)
        await uow.commit()

    @get(
        "/webhook-endpoints/{endpoint_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        description=(
            "The endpoint's delivery log, newest first, with every attempt (status code, "
            "duration, error); `state` filters pending, delivered or failed deliveries. "
            "Needs an `admin` or `viewer` key."
        ),
        summary="The endpoint's delivery log, newest first, with every attempt",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_deliveries(
        self,
        endpoint_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
        delivery_state: Annotated[
            DeliveryState | None, QueryParameter(name="state", description="Only this state")
        ] = None,
        limit: PageLimit = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> WebhookDeliveryPage:
        rows, attempts = await service(uow, request).list_deliveries(
            principal,
            endpoint_id,
            state=delivery_state,
            before=decode_id_cursor(cursor),
            limit=limit + 1,
        )
        page, next_cursor = paginate(rows, limit, lambda r: [r.id])
        return WebhookDeliveryPage(
            items=[delivery_out(d, attempts.get(d.id, [])) for d in page],
            next_cursor=next_cursor,
        )

    @post(
        "/webhook-deliveries/{delivery_id:uuid}/redeliver",
        operation_id="redeliverWebhook",
        description=(
            "An `admin` key sends a webhook delivery again now, with a fresh set of "
            "retries (for example after fixing the receiver). A disabled endpoint is 409 "
            "`webhooks.endpoint_disabled`."
        ),
        summary="Send a delivery again now, with a fresh set of retries",
        status_code=202,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def redeliver(
        self,
        delivery_id: FromPath[uuid.UUID],
        uow: UoW,
        principal: Caller,
        request: Request[Any, Any, Any],
    ) -> WebhookDeliveryOut:
        delivery, attempts = await service(uow, request).redeliver(principal, delivery_id)
        await uow.commit()
        return delivery_out(delivery, attempts)
