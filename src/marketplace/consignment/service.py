"""Use cases of the consignment context: agreements, intakes, returns. Never commits.

Authorization: the cooperative's keys manage its agreements, intakes and returns; the
consignor (UMKM) proposes intakes and reads what concerns it; anyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from marketplace import clock
from marketplace.accounts import OrganizationDirectory, OrganizationKind, Principal, Role
from marketplace.consignment.domain import (
    AgreementExists,
    AgreementNotActive,
    AgreementStatus,
    IntakeNotProposed,
    IntakeStatus,
    NotAConsignor,
    ReceivedMoreThanProposed,
    ReturnTooLarge,
)
from marketplace.consignment.models import Agreement, Intake, Return
from marketplace.consignment.repository import ConsignmentRepository
from marketplace.consignment.schemas import (
    AgreementCreate,
    AgreementUpdate,
    IntakeConfirm,
    IntakeCreate,
    IntakeReject,
    ReturnCreate,
)
from marketplace.db import UnitOfWork
from marketplace.entity_tags import UNCONDITIONAL, IfMatch
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.ids import new_id
from marketplace.listings import ListingService, ListingUpdate, PriceTierIn, ProductService
from marketplace.listings.domain import ListingStatus, MovementKind, PriceTier, SupplyMode


def now() -> dt.datetime:
    return clock.now()


class ConsignmentService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.repo = ConsignmentRepository(uow.session)
        self.directory = OrganizationDirectory(uow)
        self.listings = ListingService(uow)
        self.products = ProductService(uow)

    # --- agreements ------------------------------------------------------------------

    def _acting_cooperative(
        self, principal: Principal, cooperative_id: uuid.UUID | None
    ) -> uuid.UUID:
        if cooperative_id is not None and cooperative_id != principal.organization_id:
            principal.acting_for(cooperative_id, "organization")
            return cooperative_id
        principal.require_kind(OrganizationKind.COOPERATIVE)
        if principal.is_platform:
            raise ValidationFailed(
                "A platform administrator names the cooperative (`cooperative_id`).",
                field="cooperative_id",
            )
        return principal.organization_id

    async def create_agreement(self, principal: Principal, data: AgreementCreate) -> Agreement:
        principal.require_role(Role.ADMIN)
        cooperative_id = self._acting_cooperative(principal, data.cooperative_id)
        cooperative = await self.directory.get(cooperative_id)
        if cooperative is None or cooperative.kind is not OrganizationKind.COOPERATIVE:
            raise NotFound("No such cooperative.")
        consignor = await self.directory.get(data.consignor_id)
        if consignor is None:
            raise NotFound("No such organization.", consignor_id=str(data.consignor_id))
        if consignor.kind is not OrganizationKind.UMKM:
            raise NotAConsignor(
                "The consignor must be a UMKM organization.", consignor_kind=consignor.kind.value
            )
        await self.repo.lock(f"consignment-agreement:{cooperative_id}:{consignor.id}")
        existing = await self.repo.agreement_for_pair(
            cooperative_id, consignor.id, active_only=True
        )
        if existing is not None:
            raise AgreementExists(
                "An active agreement with this consignor exists; change or end it.",
                agreement_id=str(existing.id),
            )
        agreement = Agreement(
            id=new_id(),
            cooperative_id=cooperative_id,
            consignor_id=consignor.id,
            commission_bps=data.commission_bps,
            settlement_cycle_days=data.settlement_cycle_days,
            bank_name=data.payout_account.bank_name.strip(),
            bank_account_number=data.payout_account.account_number,
            bank_account_holder=data.payout_account.account_holder.strip(),
            status=AgreementStatus.ACTIVE,
        )
        self.repo.add(agreement)
        await self.repo.flush()
        await self.uow.session.refresh(agreement)
        return agreement

    async def agreement(self, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
        agreement = await self.repo.agreement(agreement_id)
        if agreement is None or not principal.is_party(
            agreement.cooperative_id, agreement.consignor_id
        ):
            raise NotFound("No such agreement.")
        return agreement

    async def agreements(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[Agreement]:
        return await self.repo.agreements_page(scope=principal.scope, after=after, limit=limit)

    async def _managed_agreement(self, principal: Principal, agreement_id: uuid.UUID) -> Agreement:
        agreement = await self.repo.agreement(agreement_id, for_update=True)
        if agreement is None or not principal.is_party(
            agreement.cooperative_id, agreement.consignor_id
        ):
            raise NotFound("No such agreement.")
        if not principal.is_party(agreement.cooperative_id):
            raise PermissionDenied("Only the cooperative changes the agreement.")
        principal.require_role(Role.ADMIN)
        principal.acting_for(agreement.cooperative_id, "agreement")
        return agreement

    async def update_agreement(
        self,
        principal: Principal,
        agreement_id: uuid.UUID,
        data: AgreementUpdate,
        if_match: IfMatch = UNCONDITIONAL,
    ) -> Agreement:
        agreement = await self._managed_agreement(principal, agreement_id)
        # Under the row lock: no other write comes between this comparison and ours.
        if_match.ensure(agreement.version)
        if agreement.status != AgreementStatus.ACTIVE:
            raise AgreementNotActive("An ended agreement cannot change.")
        if data.commission_bps is not msgspec.UNSET:
            agreement.commission_bps = data.commission_bps
        if data.settlement_cycle_days is not msgspec.UNSET:
            agreement.settlement_cycle_days = data.settlement_cycle_days
        if data.payout_account is not msgspec.UNSET:
            agreement.bank_name = data.payout_account.bank_name.strip()
            agreement.bank_account_number = data.payout_account.account_number
            agreement.bank_account_holder = data.payout_account.account_holder.strip()
        await self.repo.flush()
        await self.uow.session.refresh(agreement)
        return agreement

    async def end_agreement(
        self, principal: Principal, agreement_id: uuid.UUID, if_match: IfMatch = UNCONDITIONAL
    ) -> Agreement:
        """No new intakes; goods already placed still sell and settle under it."""
        agreement = await self._managed_agreement(principal, agreement_id)
        if_match.ensure(agreement.version)
        if agreement.status == AgreementStatus.ACTIVE:
            agreement.status = AgreementStatus.ENDED
            agreement.ended_at = now()
            await self.repo.flush()
            await self.uow.session.refresh(agreement)
        return agreement

    # --- intakes ---------------------------------------------------------------------

    async def create_intake(self, principal: Principal, data: IntakeCreate) -> Intake:
        """The consignor proposes; the cooperative (or the platform) records a receipt."""
        principal.require_role(Role.SELLER)
        agreement = await self.repo.agreement(data.agreement_id)
        if agreement is None or not principal.is_party(
            agreement.cooperative_id, agreement.consignor_id
        ):
            raise NotFound("No such agreement.")
        if principal.is_platform:
            principal.acting_for(agreement.cooperative_id, "agreement")
        if agreement.status != AgreementStatus.ACTIVE:
            raise AgreementNotActive("The agreement has ended; no new goods can be placed.")
        product = await self.products.get(data.product_id)
        cooperative = await self.directory.get(agreement.cooperative_id)
        assert cooperative is not None
        if data.expiry_date is not None:
            # The goods sit at the cooperative: its calendar says what "today" is.
            today = cooperative.today()
            if data.expiry_date <= today:
                raise ValidationFailed(
                    "The expiry date must be in the future.",
                    expiry_date=str(data.expiry_date),
                    today=str(today),
                )
        # The goods will be sold from the cooperative's store: its zone's price cap holds
        # from the proposal on (the confirmation checks again, in case the cap fell since).
        self.listings.check_price_caps(
            product,
            (PriceTier(min_quantity=1, unit_price=data.unit_price),),
            cooperative.region_code,
        )
        intake = Intake(
            id=new_id(),
            agreement_id=agreement.id,
            cooperative_id=agreement.cooperative_id,
            consignor_id=agreement.consignor_id,
            product_id=product.id,
            proposed_quantity=data.quantity,
            unit_price=data.unit_price,
            expiry_date=data.expiry_date,
            status=IntakeStatus.PROPOSED,
            returned_quantity=0,
        )
        self.repo.add(intake)
        await self.repo.flush()
        if principal.organization_id != agreement.consignor_id:
            # The cooperative records goods it has physically received: confirmed at once.
            await self._receive(principal, intake, data.quantity)
        await self.uow.session.refresh(intake)
        return intake

    async def intake(self, principal: Principal, intake_id: uuid.UUID) -> Intake:
        intake = await self.repo.intake(intake_id)
        if intake is None or not principal.is_party(intake.cooperative_id, intake.consignor_id):
            raise NotFound("No such intake.")
        return intake

    async def intakes(
        self,
        principal: Principal,
        *,
        status: IntakeStatus | None,
        expired: bool | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Intake]:
        return await self.repo.intakes_page(
            scope=principal.scope,
            status=status.value if status else None,
            expired=expired,
            after=after,
            limit=limit,
        )

    async def _cooperative_intake(self, principal: Principal, intake_id: uuid.UUID) -> Intake:
        intake = await self.repo.intake(intake_id, for_update=True)
        if intake is None or not principal.is_party(intake.cooperative_id, intake.consignor_id):
            raise NotFound("No such intake.")
        if not principal.is_party(intake.cooperative_id):
            raise PermissionDenied("Only the cooperative confirms or rejects an intake.")
        principal.require_role(Role.SELLER)
        principal.acting_for(intake.cooperative_id, "intake")
        if intake.status != IntakeStatus.PROPOSED:
            raise IntakeNotProposed(
                "Only a proposed intake can be confirmed or rejected.", status=intake.status
            )
        return intake

    async def confirm_intake(
        self, principal: Principal, intake_id: uuid.UUID, data: IntakeConfirm
    ) -> Intake:
        intake = await self._cooperative_intake(principal, intake_id)
        if data.received_quantity > intake.proposed_quantity:
            raise ReceivedMoreThanProposed(
                f"Received {data.received_quantity} but {intake.proposed_quantity} were proposed.",
                proposed=intake.proposed_quantity,
                received=data.received_quantity,
            )
        agreement = await self.repo.agreement(intake.agreement_id)
        assert agreement is not None
        if agreement.status != AgreementStatus.ACTIVE:
            raise AgreementNotActive("The agreement has ended; no new goods can be placed.")
        await self._receive(principal, intake, data.received_quantity)
        await self.uow.session.refresh(intake)
        return intake

    async def reject_intake(
        self, principal: Principal, intake_id: uuid.UUID, data: IntakeReject
    ) -> Intake:
        intake = await self._cooperative_intake(principal, intake_id)
        intake.status = IntakeStatus.REJECTED
        intake.reject_reason = data.reason.strip()
        await self.repo.flush()
        await self.uow.session.refresh(intake)
        return intake

    async def _receive(self, principal: Principal, intake: Intake, quantity: int) -> None:
        """Stock exists from here: create or top up the cooperative's listing owned by the
        consignor, priced at the consignor's selling price (price cap checked), and log a
        `receive` movement."""
        # One listing per (cooperative, product, consignor): serialise its creation.
        await self.repo.lock(
            f"consignment-listing:{intake.cooperative_id}:{intake.product_id}:{intake.consignor_id}"
        )
        listing = await self.listings.find_for_owner(
            intake.cooperative_id, intake.product_id, intake.consignor_id
        )
        if listing is None:
            cooperative = await self.directory.get(intake.cooperative_id)
            assert cooperative is not None
            product = await self.products.get(intake.product_id)
            listing, _ = await self.listings.open_listing(
                seller_id=intake.cooperative_id,
                seller_kind=cooperative.kind.value,
                owner_id=intake.consignor_id,
                region_code=cooperative.region_code,
                product=product,
                tiers=(PriceTier(min_quantity=1, unit_price=intake.unit_price),),
                min_order_quantity=1,
                supply_mode=SupplyMode.STOCK,
                status=ListingStatus.ACTIVE,
                opening_stock=0,
                principal=principal,
            )
        elif listing.base_unit_price != intake.unit_price or len(listing.tiers) != 1:
            # The consignor's latest selling price applies to all of its goods here.
            listing, _ = await self.listings.update(
                principal,
                listing.id,
                ListingUpdate(
                    price_tiers=[PriceTierIn(min_quantity=1, unit_price=intake.unit_price)]
                ),
            )
        await self.listings.move(
            listing,
            MovementKind.RECEIVE,
            quantity,
            principal,
            "consignment intake",
            f"intake:{intake.id}",
        )
        intake.listing_id = listing.id
        intake.received_quantity = quantity
        intake.status = IntakeStatus.CONFIRMED
        intake.confirmed_at = now()
        await self.repo.flush()

    async def flag_expired(self, at: dt.datetime | None = None) -> int:
        """Flag intakes whose expiry date is past in their cooperative's own calendar."""
        return await self.repo.flag_expired(at or clock.now())

    # --- returns ---------------------------------------------------------------------

    async def record_return(self, principal: Principal, data: ReturnCreate) -> Return:
        principal.require_role(Role.SELLER)
        if (data.intake_id is None) == (data.listing_id is None):
            raise ValidationFailed(
                "Name exactly one of `intake_id` and `listing_id`.", field="intake_id"
            )
        intake: Intake | None = None
        if data.intake_id is not None:
            intake = await self.repo.intake(data.intake_id, for_update=True)
            if intake is None or not principal.is_party(intake.cooperative_id, intake.consignor_id):
                raise NotFound("No such intake.")
            if intake.status != IntakeStatus.CONFIRMED or intake.listing_id is None:
                raise IntakeNotProposed(
                    "Only goods of a confirmed intake can be returned.", status=intake.status
                )
            received = intake.received_quantity or 0
            if intake.returned_quantity + data.quantity > received:
                raise ReturnTooLarge(
                    "More would be returned than this intake brought in.",
                    received=received,
                    returned=intake.returned_quantity,
                    requested=data.quantity,
                )
            listing_id = intake.listing_id
        else:
            assert data.listing_id is not None
            listing_id = data.listing_id
        listing = await self.listings.get_unchecked(listing_id)
        if (
            listing is None
            or listing.owner_organization_id == listing.seller_organization_id
            or not principal.is_party(listing.seller_organization_id, listing.owner_organization_id)
        ):
            raise NotFound("No such consigned listing.")
        if not principal.is_party(listing.seller_organization_id):
            raise PermissionDenied("Only the cooperative hands goods back.")
        principal.acting_for(listing.seller_organization_id, "listing")
        agreement = await self.repo.agreement_for_pair(
            listing.seller_organization_id, listing.owner_organization_id, active_only=False
        )
        if agreement is None:
            raise NotFound("No such consigned listing.")
        free = listing.on_hand - listing.reserved
        if data.quantity > free:
            raise ReturnTooLarge(
                "Only stock that is on hand and not reserved for orders can be returned.",
                on_hand=listing.on_hand,
                reserved=listing.reserved,
                requested=data.quantity,
            )
        # Its number must not be in flight while a settlement run picks its range.
        await self.repo.lock_records(listing.seller_organization_id, exclusive=False)
        record = Return(
            id=new_id(),
            agreement_id=agreement.id,
            cooperative_id=listing.seller_organization_id,
            consignor_id=listing.owner_organization_id,
            listing_id=listing.id,
            intake_id=intake.id if intake else None,
            quantity=data.quantity,
            reason=data.reason.strip(),
        )
        await self.listings.move(
            listing,
            MovementKind.RETURN,
            data.quantity,
            principal,
            data.reason.strip(),
            f"return:{record.id}",
        )
        if intake is not None:
            intake.returned_quantity += data.quantity
        self.repo.add(record)
        await self.repo.flush()
        await self.uow.session.refresh(record)
        return record
