"""Payments: paying orders by card (Stripe), bank transfer or treasury, and refunds.

Owns payments (one attempt to pay one order; at most one in flight or paid per order),
refunds (one full refund per payment) and the inbox of Stripe webhook events (stored once
per Stripe event id, handled once). Invariants: a payment's status only moves up a fixed
rank (`domain.STATUS_RANK`), so provider events in any order or repeated give the same
result; every payment received, refund granted and refund paid is posted to the ledger
exactly once (references derived from our ids); the card provider sits behind the
`PaymentGateway` port and sees idempotency keys derived from our ids.

Talks to orders (reads an order through `OrderService.view`; reacts to `order.cancelled`
by refunding), the ledger (`LedgerService.post`) and partners through outbox events
`payment.succeeded`, `payment.failed` and `payment.refunded`.
"""
