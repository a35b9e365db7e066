"""Every visible string of the pages is translated, in Indonesian first and in English."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from marketplace.web import i18n

WEB = Path(i18n.__file__).parent


def page_messages() -> set[str]:
    with (WEB / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "ngettext_": (1, 2)}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_pages_have_strings_to_translate() -> None:
    assert "The phone number or the password is wrong." in page_messages()


# Written the same in both languages: names and abbreviations, not English left over.
SAME_IN_INDONESIAN = {"BAST %(number)s", "NPWP", "PPN", "PPh 22", "Email", "Rp"}


def test_every_page_string_is_translated_in_every_language() -> None:
    wanted = page_messages()
    for language in i18n.LANGUAGES:
        catalog = i18n.read_catalog(language)
        missing = sorted(m for m in wanted if not (catalog.get(m) and catalog.get(m).string))
        assert missing == [], f"{language}: untranslated {missing[:10]} ({len(missing)})"


def test_indonesian_is_not_english_left_over() -> None:
    catalog = i18n.catalog("id")
    same = sorted(
        m for m in page_messages() if catalog.gettext(m) == m and m not in SAME_IN_INDONESIAN
    )
    assert same == []
