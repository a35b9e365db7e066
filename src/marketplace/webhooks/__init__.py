"""Webhooks: signed event notifications to partners' URLs.

Owns webhook endpoints (an organization's URL, the event types it wants, its Standard
Webhooks signing secret, shown once) and deliveries (one per event and endpoint, with a log
of every attempt). It listens to every outbox event: an event whose topic is an
`EventType` is fanned out, in the event's own transaction, to the enabled endpoints of the
event's `organization_id` that subscribe to it (and to platform endpoints subscribed to all
organizations). Deliveries are at least once — receivers deduplicate by `webhook-id`,
the outbox event id — retried with backoff for about nine hours; 410 Gone, or three
deliveries in a row that fail after all retries, disable the endpoint. Target URLs must
resolve to public addresses, checked at registration and at every delivery.

Other contexts publish to partners by emitting one of their `PartnerEvent` Structs in their
own transaction: `outbox.emit(uow, OrderPlaced(...), organization_id=org_id)` — one event per
organization that should be told, whose fields hold only what that organization may see
(they become the message's `data`). This context lists those classes
(`domain.events.PARTNER_EVENTS`) and never the other way round: nothing here is theirs to
call.
"""

from marketplace.webhooks.domain import EVENT_TYPES, EventType

__all__ = ["EVENT_TYPES", "EventType"]
