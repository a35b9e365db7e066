"""HTTP request/response shapes of the webhooks context."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from marketplace.webhooks.domain import DeliveryState, DisabledReason, EventType

Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        description="https:// (or http://) URL that receives the POSTs",
        examples=["https://erp.example.co.id/hooks/koperasi"],
    ),
]
EventTypes = Annotated[
    list[EventType],
    msgspec.Meta(min_length=1, max_length=50, description="Event types to receive"),
]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class WebhookEndpointCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Url
    event_types: EventTypes
    description: Description = ""
    all_organizations: Annotated[
        bool,
        msgspec.Meta(description="Platform only: receive these events for every organization"),
    ] = False


class WebhookEndpointUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent are changed. `enabled: true` re-enables a disabled endpoint."""

    url: Url | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookEndpointOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    description: str
    event_types: list[EventType]
    all_organizations: bool
    enabled: bool
    disabled_reason: DisabledReason | None
    disabled_at: dt.datetime | None
    consecutive_failures: Annotated[
        int, msgspec.Meta(description="Deliveries in a row that failed after all retries")
    ]
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookEndpointCreated(WebhookEndpointOut, kw_only=True):
    """The only time the signing secret is shown; store it now."""

    secret: Annotated[
        str,
        msgspec.Meta(description="Standard Webhooks signing secret (`whsec_` + base64 key)"),
    ]


class WebhookEndpointPage(msgspec.Struct, kw_only=True):
    items: list[WebhookEndpointOut]
    next_cursor: str | None


class WebhookAttemptOut(msgspec.Struct, kw_only=True):
    attempt: int
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: Annotated[
        dt.datetime | None, msgspec.Meta(description="When the retry after this attempt is due")
    ]


class WebhookDeliveryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: Annotated[uuid.UUID, msgspec.Meta(description="Sent as the `webhook-id` header")]
    event_type: EventType
    state: DeliveryState
    attempt_count: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    attempts: list[WebhookAttemptOut]


class WebhookDeliveryPage(msgspec.Struct, kw_only=True):
    items: list[WebhookDeliveryOut]
    next_cursor: str | None
