"""Documents on the pages: each paper's PDF for the signed-in person, and the public page
a paper's QR code opens.

`/dokumen/<kind>/<id>.pdf` issues (once) and answers the PDF with the same service and
visibility as the API (`documents.DocumentService`): another organization's object is the
not-found page; a paper that can't exist yet is the problem page (409). `/cek/<token>`
needs no sign-in: it shows who issued the paper, its number, date and total from the facts
stored when it was issued; any other token is "Dokumen tidak ditemukan" (404). The surat
jalan's check links to the kitchen's receiving page (sign-in first).
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from marketplace.dependencies import UoW
from marketplace.documents import DocumentKind, DocumentService, pdf_response
from marketplace.errors import NotFound
from marketplace.web.controller import PageRequest, not_found_page, signed_in
from marketplace.web.i18n import gettext_ as _
from marketplace.web.pages import person_id_of, render

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,32}")
PDF_NAME = re.compile(r"([0-9a-fA-F-]{36})\.pdf")


def kind_label(kind: str) -> str:
    labels = {
        DocumentKind.DELIVERY_NOTE: _("Delivery note (surat jalan)"),
        DocumentKind.GOODS_RECEIPT: _("Goods receipt (BAST)"),
        DocumentKind.INVOICE: _("Invoice"),
        DocumentKind.PO_INVOICE: _("Purchase order invoice"),
        DocumentKind.CONSIGNMENT_STATEMENT: _("Consignment statement"),
    }
    return labels.get(DocumentKind(kind), kind)


def _id_of(name: str) -> uuid.UUID | None:
    found = PDF_NAME.fullmatch(name)
    if found is None:
        return None
    try:
        return uuid.UUID(found.group(1))
    except ValueError:
        return None


async def _pdf(request: PageRequest, uow: UoW, name: str, kind: DocumentKind) -> Response[Any]:
    acting = await signed_in(request, uow)
    if isinstance(acting, Redirect):
        if acting.url == "/masuk":  # a PDF link opened signed out: back here after
            return Redirect(f"/masuk?{urlencode({'next': request.url.path})}")
        return acting
    subject = _id_of(name)
    if subject is None:
        return not_found_page(request)
    service = DocumentService(uow)
    try:
        if kind is DocumentKind.INVOICE:
            documents = await service.order_invoices(acting.principal, subject)
        else:
            issue = {
                DocumentKind.DELIVERY_NOTE: service.delivery_note,
                DocumentKind.GOODS_RECEIPT: service.goods_receipt,
                DocumentKind.PO_INVOICE: service.po_invoice,
                DocumentKind.CONSIGNMENT_STATEMENT: service.consignment_statement,
            }[kind]
            documents = [await issue(acting.principal, subject)]
    except NotFound:
        await uow.rollback()
        return not_found_page(request)
    await uow.commit()
    return pdf_response(documents, str(request.base_url))


def _receiving(request: PageRequest, order_id: uuid.UUID) -> str:
    """The order's receiving page; through the sign-in page first when signed out."""
    page = f"/pesanan/{order_id}/terima"
    return page if person_id_of(request) else f"/masuk?{urlencode({'next': page})}"


class DocumentPageController(Controller):
    path = "/"
    include_in_schema = False

    @get("/dokumen/surat-jalan/{name:str}")
    async def delivery_note(
        self, request: PageRequest, uow: UoW, name: FromPath[str]
    ) -> Response[Any]:
        return await _pdf(request, uow, name, DocumentKind.DELIVERY_NOTE)

    @get("/dokumen/bast/{name:str}")
    async def goods_receipt(
        self, request: PageRequest, uow: UoW, name: FromPath[str]
    ) -> Response[Any]:
        return await _pdf(request, uow, name, DocumentKind.GOODS_RECEIPT)

    @get("/dokumen/faktur/{name:str}")
    async def invoice(self, request: PageRequest, uow: UoW, name: FromPath[str]) -> Response[Any]:
        return await _pdf(request, uow, name, DocumentKind.INVOICE)

    @get("/dokumen/faktur-po/{name:str}")
    async def po_invoice(
        self, request: PageRequest, uow: UoW, name: FromPath[str]
    ) -> Response[Any]:
        return await _pdf(request, uow, name, DocumentKind.PO_INVOICE)

    @get("/dokumen/laporan-konsinyasi/{name:str}")
    async def statement(self, request: PageRequest, uow: UoW, name: FromPath[str]) -> Response[Any]:
        return await _pdf(request, uow, name, DocumentKind.CONSIGNMENT_STATEMENT)

    @get("/cek/{token:path}")
    async def verify(self, request: PageRequest, uow: UoW, token: FromPath[str]) -> Response[Any]:
        """Public: no sign-in. Only a token this site issued shows anything (a number, a
        path or a token changed by a character is the same "not found")."""
        token = token.lstrip("/")
        try:
            if TOKEN.fullmatch(token) is None:
                raise NotFound("No such document.")
            document = await DocumentService(uow).verify(token)
        except NotFound:
            return render(request, "documents/not_found.html", status=404)
        facts = document.facts
        return render(
            request,
            "documents/verify.html",
            document=document,
            facts=facts,
            kind=kind_label(facts.kind),
            receiving=_receiving(request, facts.order_id)
            if facts.kind is DocumentKind.DELIVERY_NOTE and facts.order_id
            else None,
        )


__all__ = ["DocumentPageController"]
