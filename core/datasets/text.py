"""Text checks on single cells: normalisation, personal data, mojibake, control characters.

Personal data is found with regular expressions and then confirmed with the
format's own check digits where it has them: card numbers must pass the Luhn
check and IBANs the ISO 13616 mod-97 check, so order numbers and amounts are
not reported as cards. Phone numbers have no check digit; a phone is 9-15
digits in the usual +, space, dash and bracket layout, written with a leading +/00 or with
separators (a bare run of digits is an order or account number far more
often than a phone), and not part of a card or IBAN already found.

Trade-off: regular expressions miss personal data written in words ("my
number is five five five ...") and names; they are fast (50,000 rows in about
a second) and explainable, which is what a quality gate needs.
"""

from __future__ import annotations

import re
import unicodedata

PII_KINDS = ("email", "phone", "card", "iban")

_WS = re.compile(r"\s+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\(?\d{1,4}\)?(?:[ -]?\(?\d{2,5}\)?){2,5}(?!\w|[.,]\d)")
# UTF-8 bytes shown as Windows-1252/Latin-1: "Ã©", "â€“", "Â ", a BOM as "ï»¿", emoji as "ðŸ"
MOJIBAKE = re.compile(
    "(?:[\u00c2-\u00c3][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|\u00e2\u20ac|\u00ef\u00bb\u00bf|\u00f0\u0178|\ufffd)")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalise(text: str) -> str:
    """The key for 'same input': case-folded, white space collapsed, trimmed.

    >>> normalise("  Hello   WORLD\\n")
    'hello world'
    """
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


def luhn_ok(digits: str) -> bool:
    """The Luhn check of card numbers.

    >>> luhn_ok("4111111111111111"), luhn_ok("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """The ISO 13616 mod-97 check.

    >>> iban_ok("DE89 3704 0044 0532 0130 00"), iban_ok("DE00 3704 0044 0532 0130 00")
    (True, False)
    """
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    s = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in s)) % 97 == 1
    except ValueError:
        return False


def find_pii(text: str) -> dict[str, list[str]]:
    """The personal data found in one text, per kind (kinds with no match left out).

    >>> find_pii("mail me at a.b@example.com or +1 415-555-0132")
    {'email': ['a.b@example.com'], 'phone': ['+1 415-555-0132']}
    """
    if not text or not any(ch.isdigit() or ch == "@" for ch in text):
        return {}
    found: dict[str, list[str]] = {}
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return all(m.end() <= a or m.start() >= b for a, b in taken)

    for m in EMAIL.finditer(text):
        found.setdefault("email", []).append(m.group())
        taken.append(m.span())
    for m in IBAN.finditer(text):
        if free(m) and iban_ok(m.group()):
            found.setdefault("iban", []).append(m.group())
            taken.append(m.span())
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if free(m) and 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.setdefault("card", []).append(m.group())
            taken.append(m.span())
    for m in PHONE.finditer(text):
        value = m.group().strip()
        digits = re.sub(r"\D", "", value)
        laid_out = value.startswith(("+", "00", "(")) or not value.isdigit()
        if free(m) and 9 <= len(digits) <= 15 and laid_out:
            found.setdefault("phone", []).append(value)
            taken.append(m.span())
    return {k: found[k] for k in PII_KINDS if k in found}


def mask(value: str) -> str:
    """Hide the middle of a found value so a report can be shared.

    >>> mask("maria@example.com")
    'ma*************om'
    """
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def has_mojibake(text: str) -> bool:
    """UTF-8 text that was decoded as Latin-1/Windows-1252 somewhere on its way.

    >>> has_mojibake("cafÃ© â€“ ok"), has_mojibake("café – ok")
    (True, False)
    """
    return bool(text) and MOJIBAKE.search(text) is not None


def has_control_chars(text: str) -> bool:
    """Control characters other than tab, CR and LF (they break tokenizers and CSV tools).

    >>> has_control_chars("a\\x07b"), has_control_chars("a\\tb\\n")
    (True, False)
    """
    return bool(text) and CONTROL.search(text) is not None
