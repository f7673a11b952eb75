"""A bar chart drawn on the server, with its table: the table carries the numbers for
everyone (screen readers included); the chart is a picture of the same numbers.

Built in Python with format_html: four charts through `{% include %}` and the template
engine's loops cost the dashboard more than all its SQL.
"""

from collections.abc import Sequence

from django import template
from django.utils.html import format_html, format_html_join

from income.dashboard import Bar
from income.money import format_pounds

register = template.Library()

_ROW_HEIGHT = 8


@register.simple_tag
def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    label_heading: str,
    count_heading: str = "",
    caption_class: str = "govuk-table__caption govuk-table__caption--s",
) -> str:
    """An SVG of `bars` and the table of their label, count (if `count_heading`) and amount."""
    rects = format_html_join(
        "",
        '<rect x="0" y="{}" width="{}" height="6" class="counterfoil-chart__bar{}"></rect>',
        (
            (index * _ROW_HEIGHT, bar.share,
             " counterfoil-chart__bar--negative" if bar.pence < 0 else "")
            for index, bar in enumerate(bars)
        ),
    )  # fmt: skip
    count_header = (
        format_html(
            '<th scope="col" class="govuk-table__header govuk-table__header--numeric">{}</th>',
            count_heading,
        )
        if count_heading
        else ""
    )
    numeric = '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'
    rows = format_html_join(
        "",
        '<tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{}</th>{}{}</tr>',
        (
            (bar.label, format_html(numeric, bar.count) if count_heading else "",
             format_html(numeric, format_pounds(bar.pence)))
            for bar in bars
        ),
    ) or format_html(
        '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="{}">Nothing yet.'
        "</td></tr>",
        3 if count_heading else 2,
    )  # fmt: skip
    return format_html(
        '<figure class="counterfoil-chart">'
        '<svg class="counterfoil-chart__svg" role="img" aria-labelledby="{id}-title" '
        'viewBox="0 0 100 {height}" preserveAspectRatio="none" width="100%" '
        'height="{pixels}" focusable="false">'
        '<title id="{id}-title">{title}: bar chart of the table below</title>{rects}</svg>'
        '<table class="govuk-table"><caption class="{caption_class}">{title}</caption>'
        '<thead class="govuk-table__head"><tr class="govuk-table__row">'
        '<th scope="col" class="govuk-table__header">{label_heading}</th>{count_header}'
        '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Amount</th>'
        '</tr></thead><tbody class="govuk-table__body">{rows}</tbody></table></figure>',
        id=chart_id,
        height=len(bars) * _ROW_HEIGHT,
        pixels=len(bars) * 3 * _ROW_HEIGHT,
        title=title,
        rects=rects,
        caption_class=caption_class,
        label_heading=label_heading,
        count_header=count_header,
        rows=rows,
    )
