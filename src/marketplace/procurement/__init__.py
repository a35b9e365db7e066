"""Procurement: Bulog purchase lots, inter-city trade contracts and government sourcing.

Three rooms, each with its own tables, queries, use cases, shapes and endpoints, that share
only `procurement.domain` (errors alike) and never import each other:

- `lots/` pools `bulog_lot` order legs into purchase lots per (cooperative, product, Bulog
  branch), closes them into purchase orders and shares a receipt out to the waiting legs;
- `contracts/` allots a trade contract's weekly volume across supplying cooperatives by
  declared capacity (shortfalls re-allotted down the list), and takes call-offs, shipments
  and their levies;
- `sourcing/` is the government path RFQ → quote → award → purchase order → goods receipt
  (BAST) → invoice → treasury payment, published as OCDS release packages.

Invariants: every demanded unit is either released or reported unfilled; allotments add up
to the contract volume and never exceed a supplier's capacity. Orders uses procurement
through what this package exports (it never imports orders); procurement talks to accounts,
listings (stock in), the ledger (levies, invoices) and the outbox.
"""

from marketplace.procurement.contracts.calloffs import ContractCalloffs as ContractCalloffs
from marketplace.procurement.contracts.calloffs import ContractOffer as ContractOffer
from marketplace.procurement.lots.domain import NoBulogBranch as NoBulogBranch
from marketplace.procurement.lots.pooling import LotPooling as LotPooling
from marketplace.procurement.lots.service import LotService as LotService
from marketplace.procurement.sourcing.award_service import AwardService as AwardService
from marketplace.procurement.sourcing.domain import RfqStatus as RfqStatus
from marketplace.procurement.sourcing.fulfilment_service import (
    FulfilmentService as FulfilmentService,
)
from marketplace.procurement.sourcing.fulfilment_service import (
    PurchaseOrderView as PurchaseOrderView,
)
from marketplace.procurement.sourcing.publication_service import (
    PublicationService as PublicationService,
)
from marketplace.procurement.sourcing.schemas import AwardCreate as AwardCreate
from marketplace.procurement.sourcing.schemas import QuoteCreate as QuoteCreate
from marketplace.procurement.sourcing.schemas import ReceiptCreate as ReceiptCreate
from marketplace.procurement.sourcing.schemas import RfqCreate as RfqCreate
from marketplace.procurement.sourcing.schemas import TreasuryPaymentCreate as TreasuryPaymentCreate
from marketplace.procurement.sourcing.service import QuoteView as QuoteView
from marketplace.procurement.sourcing.service import RfqService as RfqService
from marketplace.procurement.sourcing.service import RfqView as RfqView

__all__ = [
    "AwardCreate",
    "AwardService",
    "ContractCalloffs",
    "ContractOffer",
    "FulfilmentService",
    "LotPooling",
    "LotService",
    "NoBulogBranch",
    "PublicationService",
    "PurchaseOrderView",
    "QuoteCreate",
    "QuoteView",
    "ReceiptCreate",
    "RfqCreate",
    "RfqService",
    "RfqStatus",
    "RfqView",
    "TreasuryPaymentCreate",
]
