"""Terminal tables of the command line that wrap names, never numbers.

rich shrinks a table that is wider than the terminal by narrowing its wrapping columns, down to any width: at 80
columns a figure such as ``2.345`` could come out as ``2.3`` over ``45``. Here every column is one of two kinds:

* a **name** column (model specs, parameter names) may be folded anywhere, as a last resort mid-word;
* a **number** column (figures, intervals, shapes, values) may wrap only at spaces, so that every
  whitespace-separated word (``2.345``, ``[2.301,``, ``(64, 8)``) stays whole on one line; its heading is words,
  which fold like names when the figures are narrower than them.

:func:`column_widths` chooses the widths: the natural ones when the table fits; otherwise name columns give way
first (down to :data:`MIN_NAME_WIDTH` characters), then number columns (down to their longest figure or heading
word), then names again (down to :data:`MIN_FOLDED_NAME_WIDTH`), then number columns' headings. The widths
are fixed on the rich columns, so rich wraps inside them and never narrows them further. A table whose numbers'
longest words alone exceed the terminal comes out wider than the terminal rather than breaking a number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

__all__ = ["MIN_FOLDED_NAME_WIDTH", "MIN_NAME_WIDTH", "TableColumn", "column_widths", "make_table", "print_table"]

#: The narrowest a name column is made before number columns give way (enough for a name to stay legible).
MIN_NAME_WIDTH = 12
#: The narrowest a name column is made before the headings of number columns fold.
MIN_FOLDED_NAME_WIDTH = 6
#: Characters a rich column adds to its content: one space of padding on each side.
_PADDING = 2


@dataclasses.dataclass(frozen=True)
class TableColumn:
    """One column of a terminal table.

    Attributes
    ----------
    header : str
        The column's heading (wrapped at spaces like its cells).
    numeric : bool, default=False
        Whether the cells are figures (numbers, intervals, shapes, values) whose words must stay whole; else
        names, which may be folded.
    justify : {"left", "right", "center"}, default="left"
        Alignment of the cells (figures usually "right").
    """

    header: str
    numeric: bool = False
    justify: str = "left"


def _cell_width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.splitlines()), default=0)


def _longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in text.split()), default=0)


def column_widths(columns: Sequence[TableColumn], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Content widths (padding and borders excluded) that fit ``width`` terminal columns where possible.

    Parameters
    ----------
    columns : sequence of TableColumn
    rows : sequence of sequences of str
        The cells, one sequence per row, in the order of ``columns``.
    width : int
        The terminal width the whole table (borders included) should fit.

    Returns
    -------
    list of int
        One width per column: the natural width (the widest cell or header) when everything fits; else name
        columns narrowed first, then number columns, never below a number column's longest word in its cells.
    """
    cells = [[str(row[i]) for row in rows] for i in range(len(columns))]
    natural = [max(_cell_width(text) for text in [column.header, *cells[i]]) for i, column in enumerate(columns)]
    figures = [max([_longest_word(text) for text in cells[i]] + [1]) for i in range(len(columns))]
    headings = [_longest_word(column.header) for column in columns]
    # who gives way, in order: names (to MIN_NAME_WIDTH), figure columns (to their longest figure or heading word),
    # names again (to MIN_FOLDED_NAME_WIDTH), figure columns (to their longest figure: headings fold); figures never
    legible = [min(natural[i], MIN_NAME_WIDTH) for i in range(len(columns))]
    folded = [min(natural[i], MIN_FOLDED_NAME_WIDTH) for i in range(len(columns))]
    whole = [max(figures[i], headings[i]) for i in range(len(columns))]
    floors = [  # each stage's floor for every column (names, figures)
        [natural[i] if c.numeric else legible[i] for i, c in enumerate(columns)],
        [whole[i] if c.numeric else legible[i] for i, c in enumerate(columns)],
        [whole[i] if c.numeric else folded[i] for i, c in enumerate(columns)],
        [figures[i] if c.numeric else folded[i] for i, c in enumerate(columns)],
    ]
    borders = len(columns) + 1
    excess = sum(natural) + _PADDING * len(columns) + borders - width
    widths = list(natural)
    for floor in floors:
        while excess > 0:
            # narrow the widest column that may still give way at this stage, one character at a time
            candidates = [i for i in range(len(columns)) if widths[i] > floor[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    return widths


def make_table(
    columns: Sequence[TableColumn],
    rows: Sequence[Sequence[Any]],
    *,
    width: int,
    title: str | None = None,
    row_styles: Sequence[str | None] | None = None,
) -> Any:
    """A rich ``Table`` of ``rows`` whose column widths come from :func:`column_widths`.

    Cells are shown as plain text (no rich markup is interpreted in them: a spec such as ``[bold]`` prints as
    written). ``row_styles`` gives an optional style per row (e.g. ``"bold"`` for the best model).
    """
    from rich.table import Table
    from rich.text import Text

    cells = [[str(cell) for cell in row] for row in rows]
    widths = column_widths(columns, cells, width)
    table = Table(title=title, title_justify="left")
    for column, column_width in zip(columns, widths, strict=True):
        table.add_column(
            Text(column.header),
            justify=column.justify,  # type: ignore[arg-type]
            width=column_width,
            # names fold where they must; figures wrap at spaces only (their words fit the width chosen above)
            overflow="fold",
        )
    styles = list(row_styles) if row_styles is not None else [None] * len(cells)
    for row, style in zip(cells, styles, strict=True):
        table.add_row(*(Text(cell) for cell in row), style=style)
    return table


def print_table(
    console: Any,
    columns: Sequence[TableColumn],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    row_styles: Sequence[str | None] | None = None,
) -> None:
    """Print a table (:func:`make_table`) on ``console``, fitted to the console's width where its figures allow."""
    table = make_table(columns, rows, width=console.width, title=title, row_styles=row_styles)
    needed = sum(column.width for column in table.columns) + (_PADDING + 1) * len(table.columns) + 1
    if needed <= console.width:
        console.print(table)
    else:  # wider than the terminal: let the terminal wrap the lines rather than rich break a number
        from rich.segment import Segments

        console.print(Segments(console.render(table, console.options.update_width(needed))), crop=False)
