"""WhatsApp is how these people already send each other orders and links: a `wa.me`
link opens it with the text written out, and the person picks whom to send it to."""

from __future__ import annotations

from urllib.parse import urlencode


def share_url(text: str) -> str:
    return "https://wa.me/?" + urlencode({"text": text})
