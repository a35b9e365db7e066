"""Rules every page template keeps, checked on the template files themselves."""

from __future__ import annotations

import re
from pathlib import Path

from marketplace.web import pages

TEMPLATES = Path(pages.__file__).parent / "templates"
# A link to a file to download (`….pdf`, `….csv`), wherever it appears in a tag.
DOWNLOAD_LINK = re.compile(r"<a\b[^>]*\bhref=\"[^\"]*\.(?:pdf|csv)[^\"]*\"[^>]*>", re.S)


def test_download_links_are_never_boosted() -> None:
    """`<body hx-boost="true">` turns links into htmx requests that swap the answer into
    the page: a PDF or CSV must be a plain navigation, or it never downloads."""
    found, boosted = 0, []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for link in DOWNLOAD_LINK.findall(template.read_text()):
            found += 1
            if 'hx-boost="false"' not in link:
                boosted.append(f"{template.relative_to(TEMPLATES)}: {link}")
    assert found > 5  # the rule has something to hold
    assert boosted == []
