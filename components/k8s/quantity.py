"""The one way to read resource amounts: Kubernetes quantities (`500m`, `128Mi`, `1e3`) and Go memory
limits (`110MiB`), as exact Decimals so they can be compared (requests <= limits, GOMEMLIMIT < limit).

The grammar is apimachinery's resource.Quantity: a signed decimal number, then a binary-SI suffix
(Ki..Ei), a decimal-SI suffix (n, u, m, k, M, G, T, P, E) or a decimal exponent (e3, E-2). GOMEMLIMIT
is Go's runtime/debug syntax: a non-negative integer with B, KiB, MiB, GiB or TiB (no suffix = bytes).
"""
from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_GO_BYTES = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_GO_MEMLIMIT = re.compile(r"^(?P<number>[0-9]+)(?P<suffix>B|KiB|MiB|GiB|TiB)?$")


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity (`500m` -> 0.5, `1Gi` -> 1073741824); ValueError if malformed."""
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity such as 500m, 2, 128Mi or 1Gi")
    number, suffix = Decimal(match.group("number")), match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number.scaleb(int(suffix[1:]))


def parse_go_memlimit(text: str) -> int:
    """Bytes of a GOMEMLIMIT value (`110MiB` -> 115343360); ValueError if Go would reject it."""
    match = _GO_MEMLIMIT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a Go memory limit such as 110MiB (an integer with B, KiB, MiB, GiB or TiB)")
    return int(match.group("number")) * _GO_BYTES[match.group("suffix") or "B"]
