"""A Hypothesis state machine over consignment money events against the real database.

After any sequence of sales (some replayed, some with nothing delivered), commission
changes, returns, adjustments (either sign), settlement runs and payouts: every ledger
transaction sums to zero, each consignor's payable equals its unsettled sales net of
commission plus its unsettled adjustments plus the balance carried by its last statement
plus its payouts still pending, and no sale or adjustment is in two statements (every
statement's totals are exactly the records in its range).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import msgspec
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts import OrganizationKind, Principal, Role
from marketplace.accounts.schemas import OrganizationCreate
from marketplace.accounts.service import AccountsService
from marketplace.consignment.domain import PayoutStatus
from marketplace.consignment.domain.settlement import commission_for
from marketplace.consignment.sales import SaleRecorder, on_leg_delivered
from marketplace.consignment.schemas import (
    AdjustmentCreate,
    AgreementCreate,
    AgreementUpdate,
    IntakeCreate,
    ReturnCreate,
)
from marketplace.consignment.service import ConsignmentService
from marketplace.consignment.settlement_repository import SettlementRepository
from marketplace.consignment.settlement_service import SettlementService
from marketplace.db import create_engine, create_session_factory, unit_of_work
from marketplace.ids import new_id
from marketplace.ledger.domain import postings
from marketplace.listings.schemas import ProductCreate
from marketplace.listings.service import ProductService
from marketplace.orders.domain.events import OrderLegDelivered
from marketplace.outbox import Emitted
from marketplace.settings import Settings
from tests.builders.events import example
from tests.catalog import product_body

T = TypeVar("T")
STOCK = 10_000


def principal(org: uuid.UUID, kind: OrganizationKind, role: Role = Role.ADMIN) -> Principal:
    return Principal(api_key_id=new_id(), organization_id=org, organization_kind=kind, role=role)


class ConsignmentBooks(RuleBasedStateMachine):
    database_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url, pool_size=2, max_overflow=2)
        self.factory: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        self.run(self.setup())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    async def org(self, kind: OrganizationKind, vat: bool = False) -> uuid.UUID:
        async with unit_of_work(self.factory) as uow:
            org = await AccountsService(uow).create_organization(
                None,
                OrganizationCreate(
                    kind=kind,
                    name=f"{kind.value} {uuid.uuid4().hex[:6]}",
                    slug=f"sm-{kind.value}-{uuid.uuid4().hex[:12]}",
                    region_code="35.76.02.1005",
                    city="Kota Mojokerto",
                    vat_registered=vat,
                ),
            )
            await uow.commit()
            return org.id

    async def setup(self) -> None:
        self.coop = await self.org(OrganizationKind.COOPERATIVE)
        self.buyer = await self.org(OrganizationKind.KITCHEN)
        self.consignors = [
            await self.org(OrganizationKind.UMKM),
            await self.org(OrganizationKind.UMKM, vat=True),
        ]
        self.coop_admin = principal(self.coop, OrganizationKind.COOPERATIVE)
        async with unit_of_work(self.factory) as uow:
            product = await ProductService(uow).create(
                None,
                msgspec.convert(
                    product_body(category="oil", price_caps=[], bulog_supplied=False),
                    ProductCreate,
                ),
            )
            self.product = product.id
            await uow.commit()
        self.bps: list[int] = []
        self.agreements: list[uuid.UUID] = []
        self.listings: list[uuid.UUID] = []
        for i, consignor in enumerate(self.consignors):
            async with unit_of_work(self.factory) as uow:
                service = ConsignmentService(uow)
                agreement = await service.create_agreement(
                    self.coop_admin,
                    msgspec.convert(
                        {
                            "consignor_id": str(consignor),
                            "commission_bps": 1000 + 750 * i,
                            "settlement_cycle_days": 7,
                            "payout_account": {
                                "bank_name": "BRI",
                                "account_number": "0123456789",
                                "account_holder": "x",
                            },
                        },
                        AgreementCreate,
                    ),
                )
                intake = await service.create_intake(
                    self.coop_admin,
                    IntakeCreate(
                        agreement_id=agreement.id,
                        product_id=self.product,
                        quantity=STOCK,
                        unit_price=15_000,
                    ),
                )
                await uow.commit()
            self.bps.append(1000 + 750 * i)
            self.agreements.append(agreement.id)
            assert intake.listing_id is not None
            self.listings.append(intake.listing_id)
        self.unsettled = [0, 0]
        self.adjusted = [0, 0]
        self.carried = [0, 0]
        self.pending = [0, 0]
        self.stock = [STOCK, STOCK]
        self.legs: list[tuple[int, uuid.UUID, int, int]] = []

    # --- rules ---------------------------------------------------------------------

    @rule(c=st.integers(0, 1), qty=st.integers(1, 20), price=st.sampled_from([999, 12_345, 60_001]))
    def sell(self, c: int, qty: int, price: int) -> None:
        leg_id = new_id()
        self.run(self._record(c, leg_id, qty, price))
        self.unsettled[c] += qty * price - commission_for(qty * price, self.bps[c])
        self.legs.append((c, leg_id, qty, price))

    async def _record(self, c: int, leg_id: uuid.UUID, qty: int, price: int) -> None:
        async with unit_of_work(self.factory) as uow:
            await SaleRecorder(uow).record(
                leg_id=leg_id,
                order_id=leg_id,
                listing_id=self.listings[c],
                product_id=self.product,
                cooperative_id=self.coop,
                consignor_id=self.consignors[c],
                buyer_id=self.buyer,
                quantity=qty,
                unit_price=price,
                vat_treatment="standard",
            )
            await uow.commit()

    @rule(data=st.data())
    def replay_a_sale(self, data: st.DataObject) -> None:
        """The outbox runs a handler again: nothing changes (even at another rate)."""
        if not self.legs:
            return
        c, leg_id, qty, price = data.draw(st.sampled_from(self.legs))
        self.run(self._record(c, leg_id, qty, price))

    @rule()
    def nothing_delivered(self) -> None:
        """A cancelled or fully short leg: its delivery event sells nothing."""

        async def go() -> None:
            async with unit_of_work(self.factory) as uow:
                event = example(
                    "order.leg.delivered",
                    leg_id=str(new_id()),
                    kind="consignment",
                    delivered_quantity=0,
                )
                assert isinstance(event, OrderLegDelivered)
                emitted = Emitted(
                    id=new_id(),
                    organization_id=None,
                    occurred_at=dt.datetime.now(dt.UTC),
                    event=event,
                )
                await on_leg_delivered(uow, emitted)
                await uow.commit()

        self.run(go())

    @rule(c=st.integers(0, 1), bps=st.integers(0, 5000))
    def change_commission(self, c: int, bps: int) -> None:
        async def go() -> None:
            async with unit_of_work(self.factory) as uow:
                await ConsignmentService(uow).update_agreement(
                    self.coop_admin, self.agreements[c], AgreementUpdate(commission_bps=bps)
                )
                await uow.commit()

        self.run(go())
        self.bps[c] = bps

    @rule(c=st.integers(0, 1), qty=st.integers(1, 50))
    def return_goods(self, c: int, qty: int) -> None:
        if qty > self.stock[c]:
            return

        async def go() -> None:
            async with unit_of_work(self.factory) as uow:
                await ConsignmentService(uow).record_return(
                    self.coop_admin,
                    ReturnCreate(quantity=qty, reason="unsold", listing_id=self.listings[c]),
                )
                await uow.commit()

        self.run(go())
        self.stock[c] -= qty

    @rule(
        c=st.integers(0, 1),
        amount=st.integers(-400_000, 400_000).filter(lambda a: a != 0),
    )
    def adjust(self, c: int, amount: int) -> None:
        """A correction either way (a negative one can leave the consignor in debt)."""

        async def go() -> None:
            async with unit_of_work(self.factory) as uow:
                finance = principal(self.coop, OrganizationKind.COOPERATIVE, Role.FINANCE)
                await SettlementService(uow).record_adjustment(
                    finance,
                    AdjustmentCreate(
                        consignor_id=self.consignors[c], amount=amount, reason="correction"
                    ),
                )
                await uow.commit()

        self.run(go())
        self.adjusted[c] += amount

    @rule()
    def settle(self) -> None:
        async def go() -> None:
            async with unit_of_work(self.factory) as uow:
                await SettlementService(uow).settle(self.coop, dt.datetime.now(dt.UTC))
                await uow.commit()

        self.run(go())
        for c in range(2):
            available = self.carried[c] + self.unsettled[c] + self.adjusted[c]
            payout = max(available, 0)
            self.pending[c] += payout
            self.carried[c] = available - payout
            self.unsettled[c] = self.adjusted[c] = 0

    @rule()
    def pay_one(self) -> None:
        async def go() -> tuple[uuid.UUID, int] | None:
            async with unit_of_work(self.factory) as uow:
                service = SettlementService(uow)
                finance = principal(self.coop, OrganizationKind.COOPERATIVE, Role.FINANCE)
                pending = await service.payouts(
                    finance, status=PayoutStatus.PENDING, after=None, limit=1
                )
                if not pending:
                    return None
                payout = await service.mark_paid(finance, pending[0].id, f"TRF-{new_id().hex[:8]}")
                await uow.commit()
                return payout.consignor_id, payout.amount

        paid = self.run(go())
        if paid is not None:
            c = self.consignors.index(paid[0])
            self.pending[c] -= paid[1]

    # --- invariants ----------------------------------------------------------------

    @invariant()
    def books_hold(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        async with self.factory() as session:
            unbalanced = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM (SELECT e.transaction_id FROM ledger_entries e "
                        "WHERE e.transaction_id IN (SELECT transaction_id FROM ledger_entries "
                        "WHERE organization_id = :coop OR counterparty_id = :coop) "
                        "GROUP BY e.transaction_id HAVING sum(e.amount) <> 0) x"
                    ),
                    {"coop": self.coop},
                )
            ).scalar_one()
            assert unbalanced == 0
            repo = SettlementRepository(session)
            for c, consignor in enumerate(self.consignors):
                account = postings.consignor_payable_account(consignor, self.coop)
                payable = (
                    await session.execute(
                        text(
                            "SELECT COALESCE(sum(amount), 0) FROM ledger_entries "
                            "WHERE organization_id = :o AND purpose = :p AND counterparty_id = :cp"
                        ),
                        {
                            "o": account.organization_id,
                            "p": account.purpose.value,
                            "cp": account.counterparty_id,
                        },
                    )
                ).scalar_one()
                pending = (
                    await session.execute(
                        text(
                            "SELECT COALESCE(sum(amount), 0) FROM consignment_payouts "
                            "WHERE consignor_id = :c AND status = 'pending'"
                        ),
                        {"c": consignor},
                    )
                ).scalar_one()
                unsettled = await repo.unsettled_net(self.coop, consignor)
                adjusted = await repo.unsettled_adjustments(self.coop, consignor)
                carried = (
                    await session.execute(
                        text(
                            "SELECT COALESCE((SELECT closing_balance FROM consignment_statements "
                            "WHERE cooperative_id = :coop AND consignor_id = :c "
                            "ORDER BY to_seq DESC LIMIT 1), 0)"
                        ),
                        {"coop": self.coop, "c": consignor},
                    )
                ).scalar_one()
                assert unsettled == self.unsettled[c]
                assert adjusted == self.adjusted[c]
                assert carried == self.carried[c]
                assert pending == self.pending[c]
                assert -payable == unsettled + adjusted + carried + pending
            # Every statement is exactly the records in its range.
            mismatched = (
                await session.execute(
                    text(
                        """
                        SELECT count(*) FROM consignment_statements st
                          LEFT JOIN LATERAL (
                            SELECT count(*) AS n, COALESCE(sum(gross_amount), 0) AS g,
                                   COALESCE(sum(commission_amount), 0) AS c
                              FROM consignment_sales s
                             WHERE s.cooperative_id = st.cooperative_id
                               AND s.consignor_id = st.consignor_id
                               AND s.seq > st.from_seq AND s.seq <= st.to_seq) x ON true
                          LEFT JOIN LATERAL (
                            SELECT COALESCE(sum(amount), 0) AS a
                              FROM consignment_adjustments j
                             WHERE j.cooperative_id = st.cooperative_id
                               AND j.consignor_id = st.consignor_id
                               AND j.seq > st.from_seq AND j.seq <= st.to_seq) y ON true
                         WHERE st.cooperative_id = :coop
                           AND (x.n <> st.sales_count OR x.g <> st.gross_sales
                                OR x.c <> st.commission OR y.a <> st.adjustments_total)
                        """
                    ),
                    {"coop": self.coop},
                )
            ).scalar_one()
            assert mismatched == 0
            # No sale or adjustment in two statements, and every statement counted is one.
            for table in ("consignment_sales", "consignment_adjustments"):
                in_statements, distinct = (
                    await session.execute(
                        text(
                            f"SELECT count(*), count(DISTINCT r.id) FROM {table} r "
                            "JOIN consignment_statements st "
                            "ON st.cooperative_id = r.cooperative_id "
                            "AND st.consignor_id = r.consignor_id "
                            "AND r.seq > st.from_seq AND r.seq <= st.to_seq "
                            "WHERE r.cooperative_id = :coop"
                        ),
                        {"coop": self.coop},
                    )
                ).one()
                assert in_statements == distinct
            counted = (
                await session.execute(
                    text(
                        "SELECT COALESCE(sum(sales_count), 0) FROM consignment_statements "
                        "WHERE cooperative_id = :coop"
                    ),
                    {"coop": self.coop},
                )
            ).scalar_one()
            settled_sales = await session.execute(
                text(
                    "SELECT count(*) FROM consignment_sales s JOIN consignment_statements st "
                    "ON st.cooperative_id = s.cooperative_id AND st.consignor_id = s.consignor_id "
                    "AND s.seq > st.from_seq AND s.seq <= st.to_seq "
                    "WHERE s.cooperative_id = :coop"
                ),
                {"coop": self.coop},
            )
            assert int(counted) == int(settled_sales.scalar_one())


def test_consignment_books_state_machine(settings: Settings) -> None:
    assert settings.database_url is not None
    ConsignmentBooks.database_url = settings.database_url
    run_state_machine_as_test(
        ConsignmentBooks,
        settings=hypothesis_settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
