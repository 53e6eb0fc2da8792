# -*- test-case-name: tests.test_reports -*-
"""
Charts drawn on the server as SVG, with no script and no network: a bar
chart with titled axes, and a grid whose cells shade with their count.
Every bar and cell is a link, named for screen readers; the table beside
each chart is its accessible alternative.

Colours meet WCAG AA: bars and cell borders at least 3:1 against the
white ground, every text at least 4.5:1 against what it sits on.
"""

from markupsafe import Markup, escape

INK = "#1c2430"
MUTED = "#4a5563"
GRID = "#c3cad3"
BAR = "#1f56c9"
LIGHTEST = (0xF3, 0xF6, 0xFC)
DARKEST = (0x14, 0x28, 0x4B)
WIDTH = 680
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 64


def luminance(colour):
    """
    The relative luminance of C{#rrggbb}, as WCAG defines it.
    """
    channels = []
    for index in (1, 3, 5):
        value = int(colour[index : index + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one, other):
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def shade(value, highest):
    """
    The fill of a cell holding C{value} of at most C{highest}.
    """
    share = value / highest if highest else 0
    return "#" + "".join(
        f"{round(light + (dark - light) * share):02x}" for light, dark in zip(LIGHTEST, DARKEST)
    )


def text_on(fill):
    """
    Black or white, whichever reads better on C{fill}: one of them always
    reaches 4.5:1.
    """
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"


def _ticks(highest):
    """
    Round values for the value axis, from 0 to at least C{highest}.
    """
    step, scale = 1, 1
    while highest / step > 5:
        for factor in (1, 2, 5):
            step = factor * scale
            if highest / step <= 5:
                break
        scale *= 10
    top = max(step, -(-highest // step) * step)
    return list(range(0, top + 1, step))


def _open(title, description, chart_id, width, height):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="group" aria-labelledby="{chart_id}-title"'
        f' aria-describedby="{chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold"'
        f' fill="{INK}">{escape(title)}</text>',
    ]


def bar_chart(chart_id, title, bars, x_title, y_title, description):
    """
    C{bars} is C{[(label, value, href, name)]}: the axis label, the bar's
    height, where a click leads, and what a screen reader says of it.
    """
    parts = _open(title, description, chart_id, WIDTH, HEIGHT)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    base = TOP + plot_height
    ticks = _ticks(max([value for _, value, _, _ in bars] + [1]))
    top = ticks[-1]
    for tick in ticks:
        y = base - plot_height * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11"'
            f' fill="{INK}">{tick}</text>'
        )
    slot = plot_width / max(len(bars), 1)
    # Labels a few pixels apart at least: every other one, or fewer, when crowded.
    widest = max([min(len(label), 12) for label, _, _, _ in bars] + [1])
    every = max(1, -(-int(widest * 7 + 8) // max(int(slot), 1)))
    for index, (label, value, href, name) in enumerate(bars):
        x = LEFT + slot * index
        height = plot_height * value / top
        parts.append(
            f'<a href="{escape(href)}" aria-label="{escape(name)}" class="bar">'
            f'<title>{escape(name)}</title>'
            f'<rect x="{x + slot * 0.15:.1f}" y="{base - height:.1f}" width="{slot * 0.7:.1f}"'
            f' height="{height:.1f}" fill="{BAR}" data-value="{value}"/></a>'
        )
        if index % every == 0:
            short = label if len(label) <= 12 else label[:11] + "\u2026"
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{base + 16}" text-anchor="middle" font-size="11"'
                f' fill="{INK}">{escape(short)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="{INK}"/>'
        f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 14}" text-anchor="middle" font-size="12"'
        f' fill="{MUTED}">{escape(x_title)}</text>'
        f'<text x="16" y="{TOP + plot_height / 2}" text-anchor="middle" font-size="12"'
        f' fill="{MUTED}" transform="rotate(-90 16 {TOP + plot_height / 2})">{escape(y_title)}</text>'
        "</svg>"
    )
    return Markup("".join(parts))


def heatmap(chart_id, title, row_labels, column_labels, grid, hrefs, x_title, description):
    """
    C{grid[row][column]} counts, each cell a link to C{hrefs[row][column]}.
    """
    left, top = 96, 40
    cell_width = (WIDTH - left - RIGHT) / len(column_labels)
    cell_height = 26
    height = top + cell_height * len(row_labels) + 48
    parts = _open(title, description, chart_id, WIDTH, height)
    highest = max([max(row) for row in grid] + [0])
    for column, label in enumerate(column_labels):
        parts.append(
            f'<text x="{left + cell_width * (column + 0.5):.1f}" y="{top - 6}" text-anchor="middle"'
            f' font-size="10" fill="{INK}">{escape(label)}</text>'
        )
    for row, label in enumerate(row_labels):
        y = top + cell_height * row
        parts.append(
            f'<text x="{left - 6}" y="{y + cell_height / 2 + 4:.1f}" text-anchor="end"'
            f' font-size="11" fill="{INK}">{escape(label)}</text>'
        )
        for column, value in enumerate(grid[row]):
            x = left + cell_width * column
            fill = shade(value, highest)
            name = f"{label} {column_labels[column]}:00, {value} chats"
            parts.append(
                f'<a href="{escape(hrefs[row][column])}" aria-label="{escape(name)}" class="cell">'
                f"<title>{escape(name)}</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{cell_width:.1f}" height="{cell_height}"'
                f' fill="{fill}" stroke="{MUTED}" stroke-width="0.5" data-value="{value}"/>'
                f'<text x="{x + cell_width / 2:.1f}" y="{y + cell_height / 2 + 4:.1f}"'
                f' text-anchor="middle" font-size="10" fill="{text_on(fill)}">{value or ""}</text></a>'
            )
    parts.append(
        f'<text x="{left + (WIDTH - left - RIGHT) / 2}" y="{height - 16}" text-anchor="middle"'
        f' font-size="12" fill="{MUTED}">{escape(x_title)}</text></svg>'
    )
    return Markup("".join(parts))
