"""Server-rendered SVG bar charts: one labelled bar per row, the value written beside it, so a
chart reads without colour (and without JavaScript). Every label is escaped."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup

__all__ = ["bar_chart"]

_ROW = 22
_LABEL_WIDTH = 120
_BAR_WIDTH = 180
_VALUE_WIDTH = 80


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float]],
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> Markup:
    """A horizontal bar chart of ``(label, value)`` rows, titled for screen readers too."""
    if not rows:
        return Markup('<p class="empty">{}: nothing yet.</p>').format(title)
    top = max(value for _, value in rows) or 1.0
    width = _LABEL_WIDTH + _BAR_WIDTH + _VALUE_WIDTH
    height = _ROW * len(rows) + 8
    parts = [
        Markup(
            '<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            'preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}">'
            '<title id="{id}">{t}</title>'
        ).format(w=width, h=height, id=_id(title), t=title)
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * _ROW
        bar = 0 if value <= 0 else max(1, round(_BAR_WIDTH * value / top))
        parts.append(
            Markup(
                "<g><title>{label}: {text}</title>"
                '<text x="{lx}" y="{ty}" text-anchor="end" class="label">{short}</text>'
                '<rect x="{bx}" y="{y}" width="{bw}" height="{bh}" class="bar"/>'
                '<text x="{vx}" y="{ty}" class="value">{text}</text></g>'
            ).format(
                label=label,
                short=label if len(label) <= 18 else label[:17] + "…",
                text=fmt(value),
                lx=_LABEL_WIDTH - 6,
                ty=y + 15,
                bx=_LABEL_WIDTH,
                y=y + 2,
                bw=bar,
                bh=_ROW - 6,
                vx=_LABEL_WIDTH + bar + 6,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
