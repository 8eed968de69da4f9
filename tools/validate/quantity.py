"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1.5``, ``1e3``) as exact decimals, as the API server reads them."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

# k8s.io/apimachinery/pkg/api/resource: <signed number><suffix>, suffix binary SI, decimal SI or an exponent.
_QUANTITY = re.compile(r"^(?P<number>[+-]?(\d+(\.\d*)?|\.\d+))(?P<suffix>[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")
_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}


def parse(value: Any) -> Decimal | None:
    """The quantity's value, or None if the API server would not parse it (JSON numbers are accepted)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = repr(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if not match:
        return None
    suffix = match["suffix"] or ""
    try:
        number = Decimal(match["number"])
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            return number.scaleb(int(suffix[1:]))
        return number * _SUFFIX[suffix]
    except (InvalidOperation, KeyError):
        return None
