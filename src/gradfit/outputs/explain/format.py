"""How an explanation writes a number."""

from __future__ import annotations


def num(x: float, digits: int = 10) -> str:
    """A number as written by hand: 1.4, -40, 12.9612 — in plain ASCII (hyphen-minus), so that it can be
    pasted back into an option such as --lr; the operators between terms keep the typographic minus."""
    x = float(x)
    if x == 0:
        x = 0.0  # no -0
    return f"{x:.{digits}g}"
