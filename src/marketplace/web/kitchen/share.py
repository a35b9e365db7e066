"""'Bagikan ke WhatsApp': an order's summary as a wa.me link, in Indonesian whatever the
page's language, for the kitchen's group chat (where orders are shared today)."""

from __future__ import annotations

from typing import Any

from marketplace.orders import OrderView
from marketplace.web import i18n
from marketplace.web.formats import long_date, rupiah, unit_suffix
from marketplace.web.i18n import gettext_ as _
from marketplace.web.names import order_state_label
from marketplace.whatsapp import share_url


def whatsapp_link(
    view: OrderView, organization: str, names: dict[Any, Any], suppliers: dict[Any, Any]
) -> str:
    """`https://wa.me/?text=…`: who ordered for when, each line, the total and the state."""
    page_language = i18n.current_language()
    i18n.use_language("id")
    try:
        order = view.order
        rows = [
            _("Order of %(organization)s for %(day)s")
            % {"organization": organization, "day": long_date(order.delivery_date, "id")}
        ]
        for line in view.lines:
            product = names.get(line.product_id)
            sellers = sorted(
                {
                    suppliers[leg.supplier_organization_id].name
                    for leg in view.legs
                    if leg.line_no == line.line_no and leg.supplier_organization_id in suppliers
                }
            )
            rows.append(
                f"- {line.quantity} \u00d7 {product.name if product else '?'}"
                + (unit_suffix(product.name, product.unit_label) if product else "")
                + (f": {', '.join(sellers)}" if sellers else "")
            )
        rows.append(_("Total: %(total)s") % {"total": rupiah(order.total)})
        rows.append(_("Status: %(status)s") % {"status": order_state_label(order, view.legs)})
        rows.append(_("Delivered to: %(address)s") % {"address": order.delivery_address})
    finally:
        i18n.use_language(page_language)
    return share_url("\n".join(rows))


__all__ = ["whatsapp_link"]
