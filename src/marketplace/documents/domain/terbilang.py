"""Indonesian numbers in words (terbilang), as written under a total on an invoice.

`terbilang(1_250_000)` → "satu juta dua ratus lima puluh ribu"; `rupiah_in_words` adds
"rupiah". The one-words contract with se-: `seratus`, `seribu`, `sepuluh`, `sebelas`, but
"satu juta" (never "sejuta" in a formal document). Up to 999 triliun.
"""

from __future__ import annotations

ONES = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
# Each group of three digits, from the smallest; "ribu" is the only one that contracts.
SCALES = ("", "ribu", "juta", "miliar", "triliun")
LIMIT = 10 ** (3 * len(SCALES))


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        words.append("seratus")
    elif hundreds > 1:
        words += [ONES[hundreds], "ratus"]
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words += [ONES[rest - 10], "belas"]
    elif rest >= 20:
        tens, ones = divmod(rest, 10)
        words += [ONES[tens], "puluh"]
        if ones:
            words.append(ONES[ones])
    elif rest > 0:
        words.append(ONES[rest])
    return words


def terbilang(n: int) -> str:
    """`n` in Indonesian words; a negative number is "minus …"."""
    if n < 0:
        return f"minus {terbilang(-n)}"
    if n >= LIMIT:
        raise ValueError(f"{n} is past what terbilang writes (below {LIMIT})")
    if n == 0:
        return ONES[0]
    groups: list[list[str]] = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            if scale == 1 and group == 1:
                words = ["seribu"]
            else:
                words = _below_thousand(group) + ([SCALES[scale]] if scale else [])
            groups.append(words)
        scale += 1
    return " ".join(word for words in reversed(groups) for word in words)


def rupiah_in_words(amount: int) -> str:
    """An amount of rupiah in words, as under an invoice's total."""
    return f"{terbilang(amount)} rupiah"


__all__ = ["LIMIT", "rupiah_in_words", "terbilang"]
