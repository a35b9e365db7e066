"""A form sent twice does its work once.

On a weak connection people tap "Simpan" again when nothing seems to happen, and the
browser resends a form when the page is reloaded. For forms whose second run would do
the work again — a goods receipt (BAST) or a stock delivery added twice, a second RFQ,
intake or standing order, a second settlement run — each rendering of the form carries a
fresh key (`{{ once_field() }}`), and the handler runs its use case through `run_once`:
the first send does the work and remembers where it led (`idempotency.run_idempotent`,
in the use case's own transaction, so a crash leaves nothing half-claimed); a send of
the same rendering again lands there too, without doing it again.

A form rendered before this existed has no key and runs as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from markupsafe import Markup

from marketplace.db import UnitOfWork
from marketplace.idempotency import IdempotencyKeyReused, run_idempotent

ONCE_FIELD = "once"
MAX_KEY = 64  # a UUID; a forged longer one is no key at all
# Fields that differ between two sends of the same rendering without changing its meaning.
_NOT_PART_OF_THE_REQUEST = frozenset({ONCE_FIELD, "csrf_token"})


def once_field() -> Markup:
    """The hidden field of a form that must run once (a template global)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(ONCE_FIELD, uuid.uuid4())


class Sent(msgspec.Struct, frozen=True):
    """What a page action stores to replay: where it led."""

    location: str


async def run_once(
    uow: UnitOfWork,
    *,
    organization_id: uuid.UUID,
    form: Mapping[str, Any],
    operation: str,
    action: Callable[[], Awaitable[str]],
    if_changed: str,
) -> str:
    """Run `action` (the use case; it answers the location to go to) and commit, unless
    this rendering of the form was sent before: then the first send's location.

    The same rendering sent with other values (changed after going back in the browser)
    does nothing and leads to `if_changed`, the page as it now is."""
    key = form.get(ONCE_FIELD)
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or not key.isprintable():
        location = await action()
        await uow.commit()
        return location
    pairs = form.multi_items() if hasattr(form, "multi_items") else form.items()
    request = sorted(
        (name, str(value)) for name, value in pairs if name not in _NOT_PART_OF_THE_REQUEST
    )

    async def act() -> Sent:
        return Sent(location=await action())

    try:
        answer = await run_idempotent(
            uow,
            organization_id=organization_id,
            key=f"page:{key}",
            operation=f"page.{operation}",
            request=request,
            response_type=Sent,
            action=act,
        )
    except IdempotencyKeyReused:
        await uow.rollback()
        return if_changed
    return answer.content.location


__all__ = ["ONCE_FIELD", "once_field", "run_once"]
