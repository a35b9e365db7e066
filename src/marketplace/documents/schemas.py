"""What the documents' endpoints answer: a PDF (OpenAPI: `application/pdf`, binary)."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

PDF_MEDIA_TYPE = "application/pdf"
PDF_DESCRIPTION = (
    "The document as a PDF (A4), numbered once per issuer, kind and year; the same "
    "document on every request. Its QR code opens the public verification page "
    "`/cek/{token}`."
)


def pdf_responses() -> dict[int, ResponseSpec]:
    """The 200 answer's shape for the OpenAPI document."""
    return {
        200: ResponseSpec(
            data_container=bytes,
            description=PDF_DESCRIPTION,
            media_type=PDF_MEDIA_TYPE,
            generate_examples=False,
        )
    }


__all__ = ["PDF_DESCRIPTION", "PDF_MEDIA_TYPE", "pdf_responses"]
