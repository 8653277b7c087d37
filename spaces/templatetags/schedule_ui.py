"""The schedule's cells, written in Python: a page has up to 50 rows of some 30 cells, and the template
language's loops and conditions cost more than everything else of the page (bench/schedule.py)."""

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from spaces.schedule import Cell, ScheduleRow

register = template.Library()
PENDING_NOTE = format_html('<span class="visually-hidden">{}</span>', "(waiting for approval)")


def _busy(cell: Cell) -> str:
    block = cell.block
    pending = PENDING_NOTE if block.is_pending else ""
    if block.busy.reservation_id is None:
        return format_html('<span class="busy-text" title="Booked · {}">Booked{}</span>', block.label, pending)
    who = format_html('<span class="busy-who"> · {}</span>', block.who) if block.who else ""
    title = f"{block.text} · {block.who} · {block.label}" if block.who else f"{block.text} · {block.label}"
    return format_html(
        '<a class="busy-text" href="{}" title="{}">{}{}{}</a>',
        reverse("reservations:detail", args=[block.busy.reservation_id]),
        title,
        block.text,
        who,
        pending,
    )


@register.simple_tag
def schedule_cells(row: ScheduleRow, book_url: str) -> SafeString:
    """The row's <td>s: free cells are links to the prefilled booking form, busy ones say what the viewer may
    know (spaces.calendar.BusyBlock), the cell holding "now" draws its line by class."""
    name = escape(row.space.name)
    parts = []
    for cell in row.cells:
        classes = f"cell cell-{cell.state}"
        if cell.block is not None:
            classes += " is-mine" if cell.block.busy.mine else ""
            classes += " is-pending" if cell.block.is_pending else ""
        if cell.now_at is not None:
            classes += f" has-now now-{cell.now_at}"
        attributes = f' colspan="{cell.columns}"' if cell.columns > 1 else ""
        if cell.selectable:
            attributes += f' data-start="{cell.start}" data-end="{cell.end}"'
        if cell.state == "free" and cell.query:
            link = f"{book_url}?{escape(cell.query)}"
            inner = f'<a class="free-cell" href="{link}" aria-label="Book {name}, {cell.label}"></a>'
        elif cell.state == "busy":
            inner = _busy(cell)
        else:
            inner = ""
        if cell.now_at is not None:
            inner += '<span class="visually-hidden">Now</span>'
        parts.append(f'<td class="{classes}"{attributes}>{inner}</td>')
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or built from our own strings


@register.simple_tag
def schedule_chips(row: ScheduleRow, book_url: str) -> SafeString:
    """The phone's buttons: one per free cell a booking can start from."""
    name = escape(row.space.name)
    return mark_safe(  # noqa: S308 - as above
        "".join(
            f'<a class="btn btn-outline-primary btn-sm slot-chip" href="{book_url}?{escape(cell.query)}" '
            f'data-start="{cell.start}" data-end="{cell.end}" aria-label="Book {name}, {cell.label}">{cell.start}</a>'
            for cell in row.free_cells
        )
    )
