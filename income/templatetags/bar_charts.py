"""A bar chart drawn on the server, with its table: the table carries the numbers for
everyone (screen readers included); the chart is a picture of the same numbers.

Built in Python with the standard library's escape: four charts through `{% include %}` and
the template engine's loops cost the dashboard more than all its SQL.
"""

from collections.abc import Sequence
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from income.dashboard import Bar
from income.money import format_pounds

register = template.Library()

_ROW_HEIGHT = 8
_NEGATIVE = " counterfoil-chart__bar--negative"


@register.simple_tag
def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    label_heading: str,
    count_heading: str = "",
    caption_class: str = "govuk-table__caption govuk-table__caption--s",
) -> SafeString:
    """An SVG of `bars` and the table of their label, count (if `count_heading`) and amount."""
    rects = "".join(
        f'<rect x="0" y="{index * _ROW_HEIGHT}" width="{int(bar.share)}" height="6" '
        f'class="counterfoil-chart__bar{_NEGATIVE if bar.pence < 0 else ""}"></rect>'
        for index, bar in enumerate(bars)
    )
    numeric = '<td class="govuk-table__cell govuk-table__cell--numeric">'
    count_header = (
        f'<th scope="col" class="govuk-table__header govuk-table__header--numeric">'
        f"{escape(count_heading)}</th>"
        if count_heading
        else ""
    )
    rows = "".join(
        f'<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">'
        f"{escape(str(bar.label))}</th>"
        + (f"{numeric}{int(bar.count)}</td>" if count_heading else "")
        + f"{numeric}{escape(format_pounds(bar.pence))}</td></tr>"
        for bar in bars
    ) or (
        f'<tr class="govuk-table__row"><td class="govuk-table__cell" '
        f'colspan="{3 if count_heading else 2}">Nothing yet.</td></tr>'
    )
    chart_id, title = escape(chart_id), escape(title)
    return mark_safe(  # noqa: S308 - every text above is escaped
        '<figure class="counterfoil-chart">'
        f'<svg class="counterfoil-chart__svg" role="img" aria-labelledby="{chart_id}-title" '
        f'viewBox="0 0 100 {len(bars) * _ROW_HEIGHT}" preserveAspectRatio="none" width="100%" '
        f'height="{len(bars) * 3 * _ROW_HEIGHT}" focusable="false">'
        f'<title id="{chart_id}-title">{title}: bar chart of the table below</title>{rects}</svg>'
        f'<table class="govuk-table"><caption class="{escape(caption_class)}">{title}</caption>'
        '<thead class="govuk-table__head"><tr class="govuk-table__row">'
        f'<th scope="col" class="govuk-table__header">{escape(label_heading)}</th>{count_header}'
        '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Amount</th>'
        f'</tr></thead><tbody class="govuk-table__body">{rows}</tbody></table></figure>'
    )
