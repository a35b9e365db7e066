"""Recording consignment sales when a consignment leg is delivered (outbox handler).

Only what the buyer really received sells: a short delivery records the delivered
quantity, nothing delivered records nothing. The commission rate is copied from the
agreement at sale time, so later changes of the agreement never touch this sale. The
sale and its ledger posting happen in the event's transaction; the unique leg id makes a
repeated event a no-op.

VAT: a consignment sale's VAT is exactly the VAT the buyer's order leg charges for the
delivered quantity — ``vat_for(delivered gross, leg.vat_treatment)``, the same figure the
orders context keeps when it credits the buyer for a short delivery. Whether VAT applies
(the consignor is VAT-registered and the goods are taxable) is decided once, at order
placement, in the leg's treatment; the sale never decides it again, so the buyer's
invoice and the cooperative's VAT payable can't disagree.

Recording holds the cooperative's record lock shared (`settlement_lock_key`) so that no
settlement run picks its range while this sale's number is taken but not committed.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog

from marketplace.consignment.domain.settlement import commission_for
from marketplace.consignment.models import Sale
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.db import UnitOfWork
from marketplace.ids import new_id
from marketplace.ledger import LedgerService, postings
from marketplace.orders import OrderService
from marketplace.orders.domain.events import OrderLegDelivered
from marketplace.outbox import Emitted
from marketplace.tax import vat_for

log = structlog.get_logger(__name__)

LEG_DELIVERED = OrderLegDelivered.event_type
CONSIGNMENT_KIND = "consignment"


class SaleRecorder:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = ConsignmentRepository(uow.session)

    async def record_delivered_leg(self, leg_id: uuid.UUID) -> Sale | None:
        """The sale of a delivered consignment leg (created once), or None if nothing sold."""
        existing = await self.repo.sale_by_leg(leg_id)
        if existing is not None:
            return existing
        leg = await OrderService(self.uow).leg_facts(leg_id)
        if leg is None or leg.kind != CONSIGNMENT_KIND or leg.status != "delivered":
            return None
        quantity = leg.delivered_quantity or 0
        if quantity <= 0:
            return None
        return await self.record(
            leg_id=leg.id,
            order_id=leg.order_id,
            listing_id=leg.listing_id,
            product_id=leg.product_id,
            cooperative_id=leg.supplier_organization_id,
            consignor_id=leg.owner_organization_id,
            buyer_id=leg.buyer_organization_id,
            quantity=quantity,
            unit_price=leg.unit_price,
            vat_treatment=leg.vat_treatment,
            sold_at=leg.delivered_at,
        )

    async def record(
        self,
        *,
        leg_id: uuid.UUID,
        order_id: uuid.UUID,
        listing_id: uuid.UUID | None,
        product_id: uuid.UUID,
        cooperative_id: uuid.UUID,
        consignor_id: uuid.UUID,
        buyer_id: uuid.UUID,
        quantity: int,
        unit_price: int,
        vat_treatment: str,
        sold_at: dt.datetime | None = None,
    ) -> Sale | None:
        """Record (once per leg) the sale of `quantity` units and post it to the ledger.

        `vat_treatment` is the leg's: the sale's VAT is the leg's VAT on `quantity`."""
        agreement = await self.repo.agreement_for_pair(
            cooperative_id, consignor_id, active_only=False
        )
        if agreement is None:
            log.error("consignment_sale_without_agreement", leg_id=str(leg_id))
            return None
        gross = quantity * unit_price
        commission = commission_for(gross, agreement.commission_bps)
        # What the buyer's leg charges for the delivered quantity (see the module doc).
        vat = vat_for(gross, vat_treatment)
        await self.repo.lock_records(cooperative_id, exclusive=False)
        sale_id = await self.repo.insert_sale_if_new(
            {
                "id": new_id(),
                "leg_id": leg_id,
                "order_id": order_id,
                "listing_id": listing_id,
                "agreement_id": agreement.id,
                "cooperative_id": cooperative_id,
                "consignor_id": consignor_id,
                "buyer_id": buyer_id,
                "product_id": product_id,
                "quantity": quantity,
                "unit_price": unit_price,
                "gross_amount": gross,
                "commission_bps": agreement.commission_bps,
                "commission_amount": commission,
                "vat_amount": vat,
                **({"sold_at": sold_at} if sold_at else {}),
            }
        )
        if sale_id is None:  # a concurrent handler recorded it first
            return await self.repo.sale_by_leg(leg_id)
        await LedgerService(self.uow).post(
            postings.consignment_sale(
                sale_id,
                buyer_org=buyer_id,
                cooperative_org=cooperative_id,
                consignor_org=consignor_id,
                gross=gross,
                commission=commission,
                vat=vat,
            )
        )
        return await self.repo.sale_by_leg(leg_id)


async def on_leg_delivered(uow: UnitOfWork, emitted: Emitted[OrderLegDelivered]) -> None:
    """Outbox handler for ``order.leg.delivered`` (emitted once per party; idempotent)."""
    delivered = emitted.event
    if delivered.kind != CONSIGNMENT_KIND or delivered.delivered_quantity <= 0:
        return
    await SaleRecorder(uow).record_delivered_leg(delivered.leg_id)
