"""What a benchmark run produced, and how it is shown: the comparison of genlab and its peer on each case, the
report of a run, number formatting, the terminal tables (rich) and the Markdown table.

:class:`Comparison` pairs the genlab and the peer measurements of one case (the peer may be missing for some cases,
e.g. orders it does not support or would take too long on: its cells show :data:`MISSING`); :class:`BenchmarkReport`
collects the cases of one benchmark run together with its parameters; :func:`print_report` renders it on the
terminal and :func:`markdown_table` as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.harness.measure import Measurement

__all__ = [
    "MISSING",
    "BenchmarkReport",
    "BenchmarkUnavailable",
    "Comparison",
    "Extra",
    "format_mib",
    "format_parameters",
    "format_quality",
    "format_ratio",
    "format_seconds",
    "markdown_table",
    "print_report",
    "render_tables",
]

#: Cell text where a case has no peer measurement (the peer was not run on it).
MISSING = "—"


class BenchmarkUnavailable(RuntimeError):
    """A benchmark cannot run here (genlab's model or the peer is missing); the message says why."""


@dataclass(frozen=True)
class Extra:
    """An extra column of a comparison row (e.g. iteration counts, a difference of the results).

    Attributes
    ----------
    label : str
        Column heading.
    value : str
        Cell text.
    flagged : bool, default=False
        True if the value is suspicious (shown in red / marked with a warning sign).
    """

    label: str
    value: str
    flagged: bool = False


@dataclass
class Comparison:
    """genlab and the peer measured on one case of a benchmark.

    Attributes
    ----------
    case : str
        Name of the case, e.g. ``"full"`` for the full-covariance Gaussian mixture.
    genlab : Measurement
        genlab's measurement.
    peer : Measurement or None
        The peer's measurement; None where the peer was not run on this case (a size it cannot handle
        or would take too long on): its cells and the ratios then show :data:`MISSING`, and the
        report's notes should say why.
    extras : list of Extra
        Further columns, in order.
    flags : list of str
        Messages about anything suspicious in this case (e.g. quality figures that disagree).
    """

    case: str
    genlab: Measurement
    peer: Measurement | None
    extras: list[Extra] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def speed_ratio(self) -> float:
        """Peer median time / genlab median time: > 1 means genlab is faster; NaN without a peer."""
        if self.peer is None:
            return float("nan")
        return _ratio(self.peer.median_s, self.genlab.median_s)

    @property
    def memory_ratio(self) -> float:
        """genlab peak memory / peer peak memory: < 1 means genlab uses less; NaN without a peer."""
        if self.peer is None:
            return float("nan")
        return _ratio(self.genlab.peak_mib, self.peer.peak_mib)


@dataclass
class BenchmarkReport:
    """Everything one benchmark run produced, ready to print and to record.

    Attributes
    ----------
    benchmark : str
        The benchmark's name on the command line, e.g. ``"gmm"``.
    title : str
        One-line description of what was measured.
    genlab_label : str
        Heading for genlab's columns (``"genlab"``, or the stand-in's name in a self-check).
    peer_label : str
        Heading for the peer's columns, e.g. ``"sklearn"``.
    quality_name : str
        What the quality figure is, e.g. ``"lower_bound_"``.
    parameters : dict of str to str
        Sizes, seeds and settings of the run.
    comparisons : list of Comparison
        One per case.
    notes : list of str
        Further remarks printed and recorded under the table.
    """

    benchmark: str
    title: str
    genlab_label: str
    peer_label: str
    quality_name: str
    parameters: dict[str, str] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        """All flags of all cases, each prefixed with its case."""
        return [f"{c.case}: {flag}" for c in self.comparisons for flag in c.flags]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


# --------------------------------------------------------------------------------------------------
# Formatting


def format_seconds(seconds: float) -> str:
    """Format a duration in seconds with four significant digits."""
    return f"{seconds:.4g}"


def format_ratio(ratio: float) -> str:
    """Format a ratio with two decimals."""
    return f"{ratio:.2f}"


def format_mib(mib: float) -> str:
    """Format a memory amount in MiB with one decimal."""
    return f"{mib:.1f}"


def format_quality(value: float | None) -> str:
    """Format a quality figure with ten significant digits, or a dash if there is none."""
    return "-" if value is None else f"{value:.10g}"


def _table_columns(report: BenchmarkReport) -> list[tuple[str, str]]:
    """Column headings as (first line, second line) pairs; the first seven are time and memory."""
    g, p = report.genlab_label, report.peer_label
    columns = [
        ("case", ""),
        (g, "median / min s"),
        (p, "median / min s"),
        ("speed ratio", f"{p} / {g}"),
        (g, "peak MiB"),
        (p, "peak MiB"),
        ("memory ratio", f"{g} / {p}"),
        (g, report.quality_name),
        (p, report.quality_name),
    ]
    labels: list[str] = []
    for comparison in report.comparisons:
        labels.extend(e.label for e in comparison.extras if e.label not in labels)
    return columns + [(label, "") for label in labels]


#: Index of the speed-ratio column.
_SPEED_RATIO_COLUMN = 3


def _table_rows(report: BenchmarkReport) -> list[list[tuple[str, bool]]]:
    """Cells of each row as (text, flagged) pairs, in the order of :func:`_table_columns`."""
    extra_labels = [top for top, _ in _table_columns(report)[9:]]
    rows = []
    for c in report.comparisons:
        peer = c.peer
        cells = [
            c.case,
            f"{format_seconds(c.genlab.median_s)} / {format_seconds(c.genlab.min_s)}",
            MISSING if peer is None else f"{format_seconds(peer.median_s)} / {format_seconds(peer.min_s)}",
            MISSING if peer is None else format_ratio(c.speed_ratio),
            format_mib(c.genlab.peak_mib),
            MISSING if peer is None else format_mib(peer.peak_mib),
            MISSING if peer is None else format_ratio(c.memory_ratio),
            format_quality(c.genlab.quality),
            MISSING if peer is None else format_quality(peer.quality),
        ]
        row = [(text, False) for text in cells]
        by_label = {e.label: e for e in c.extras}
        for label in extra_labels:
            extra = by_label.get(label)
            row.append(("-", False) if extra is None else (extra.value, extra.flagged))
        rows.append(row)
    return rows


def render_tables(report: BenchmarkReport, width: int | None = None) -> list[Any]:
    """Build rich tables of the report's comparisons: time, memory, quality, then the extra checks.

    The columns go into as few tables as fit ``width`` (each repeating the case column), so that
    they suit a narrow terminal as well as a wide one.

    Parameters
    ----------
    report : BenchmarkReport
        The results to show.
    width : int, optional
        Width available (no limit if None). Where a table fits, numbers are never wrapped (headings
        wrap at spaces instead); where it cannot, cells fold rather than being cropped.

    Returns
    -------
    list of rich.table.Table
        Speed ratios of at least 1 (genlab as fast or faster) are green, below 1 red (no colour
        where the case has no peer); flagged cells are red.
    """
    from rich.table import Table

    columns = _table_columns(report)
    headings = [f"{top}\n{bottom}" if bottom else top for top, bottom in columns]
    rows = _table_rows(report)
    need = [
        max(max((len(row[i][0]) for row in rows), default=1), *map(len, headings[i].split()))
        for i in range(len(columns))
    ]

    def table_width(indices: list[int]) -> int:
        return sum(need[i] for i in indices) + 3 * len(indices) + 1  # padding and borders

    # columns that belong together: times and speed ratio, memory, quality, then each extra
    blocks = [[1, 2, 3], [4, 5, 6], [7, 8], *([i] for i in range(9, len(columns)))]
    groups: list[list[int]] = []
    current = [0]
    for block in blocks:
        if width is not None and len(current) > 1 and table_width(current + block) > width:
            groups.append(current)
            current = [0]
        current += block
    groups.append(current)

    tables = []
    for number, indices in enumerate(groups):
        fits = width is None or table_width(indices) <= width
        title = report.title if number == 0 else None
        table = Table(title=title, title_justify="left")
        for i in indices:
            table.add_column(
                headings[i],
                justify="left" if i == 0 else "right",
                overflow="fold",
                width=need[i] if fits else None,
            )
        for comparison, row in zip(report.comparisons, rows, strict=True):
            cells = []
            for i in indices:
                text, flagged = row[i]
                style = "bold red" if flagged else None
                if i == _SPEED_RATIO_COLUMN and comparison.peer is not None:
                    style = "green" if comparison.speed_ratio >= 1 else "red"
                cells.append(f"[{style}]{_rich_escape(text)}[/]" if style else _rich_escape(text))
            table.add_row(*cells)
        tables.append(table)
    return tables


def _rich_escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_report(report: BenchmarkReport, console: Any = None) -> None:
    """Print the report's tables, parameters, notes and flags to the terminal with rich.

    Parameters
    ----------
    report : BenchmarkReport
        The results to show.
    console : rich.console.Console, optional
        Where to print; a new console on stdout by default.
    """
    from rich.console import Console

    console = console or Console()
    for table in render_tables(report, width=console.width):
        console.print()
        console.print(table)
    console.print(
        f"[dim]speed ratio = {report.peer_label} time / {report.genlab_label} time (> 1: "
        f"{report.genlab_label} faster); memory ratio = {report.genlab_label} / "
        f"{report.peer_label}.[/]"
    )
    if report.parameters:
        console.print("Parameters: " + _rich_escape(format_parameters(report.parameters)))
    for note in report.notes:
        console.print(f"[dim]Note:[/] {_rich_escape(note)}")
    for flag in report.flags:
        console.print(f"[bold red]FLAG[/] {_rich_escape(flag)}")
    if not report.flags:
        console.print("[green]No flags.[/]")


def format_parameters(parameters: dict[str, str]) -> str:
    """Join ``key=value`` pairs with commas."""
    return ", ".join(f"{key}={value}" for key, value in parameters.items())


def markdown_table(report: BenchmarkReport) -> str:
    """Render the comparisons as a GitHub-flavoured Markdown table (flagged cells get a ⚠ mark)."""
    columns = [f"{top} {bottom}".strip() for top, bottom in _table_columns(report)]
    lines = [
        "| " + " | ".join(_md_escape(c) for c in columns) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(columns) - 1)) + "|",
    ]
    for row in _table_rows(report):
        cells = [("⚠ " if flagged else "") + _md_escape(text) for text, flagged in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")
