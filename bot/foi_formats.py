"""An export (bot/services/foi.py) as a file: JSON, a zip of one CSV per table, or one HTML page.

The HTML page is for reading without tools: headings per table, header cells on every
table, RAG statuses as words (the colour only repeats them), no scripts, no external files. A
check-in's level given on a confidence scale (`checkins.confidence`, "dca5:amber_red") is named
as given, with its scale: "Amber/Red (dca5 scale)", next to the RAG it maps to (`overall_rag`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from html import escape
from typing import Any

from bot.services import confidence
from bot.services.foi import TITLES, Export

FORMATS = ("json", "csv", "html")
# OWASP: a spreadsheet evaluates a cell that starts with one of these; a leading ' stops it.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}


def as_json(export: Export) -> bytes:
    return json.dumps(export.as_dict(), indent=2, ensure_ascii=False).encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _csv_cell(value: Any) -> str:
    text = _cell(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def as_csv_zip(export: Export) -> bytes:
    """One CSV per table (UTF-8 with a BOM, so spreadsheets read accents), the record first."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{export.record_name}.csv", "\ufeff" + _csv([export.record]))
        for name, rows in export.tables.items():
            archive.writestr(f"{name}.csv", "\ufeff" + _csv(rows))
    return buffer.getvalue()


def _html_value(column: str, value: Any) -> str:
    if column.endswith("_rag") and isinstance(value, str) and value in _RAG_WORDS:
        # The word carries the meaning; the colour only repeats it.
        return f'<span class="rag rag-{value}">{_RAG_WORDS[value]}</span>'
    if column == "confidence" and isinstance(value, str):
        scale, level = confidence.read_stored(value)
        return f'<span class="rag rag-{level.rag.value}">{escape(level.label)}</span> ({scale.value} scale)'
    return escape(_cell(value)) or '<span class="none">–</span>'


_STYLE = """
body { font-family: system-ui, sans-serif; line-height: 1.5; margin: 2rem; color: #111; background: #fff; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border: 1px solid #666; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
caption { text-align: left; font-weight: bold; }
.rag { padding: 0 0.4rem; border-radius: 0.2rem; font-weight: bold; color: #111; }
.rag-green { background: #b7e4c7; }
.rag-amber { background: #ffe08a; }
.rag-red { background: #f5b7b1; }
.none { color: #555; }
"""


def _table_html(name: str, rows: list[dict[str, Any]]) -> str:
    heading_id = f"h-{name}"
    title = escape(TITLES.get(name, name.replace("_", " ").capitalize()))
    parts = [f'<section aria-labelledby="{heading_id}">', f'<h2 id="{heading_id}">{title} ({len(rows)})</h2>']
    if not rows:
        parts.append("<p>None held for this export.</p></section>")
        return "\n".join(parts)
    columns = list(rows[0])
    parts.append(f"<table><caption>{title}</caption><thead><tr>")
    parts += [f'<th scope="col">{escape(column)}</th>' for column in columns]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(f"<td>{_html_value(column, row.get(column))}</td>" for column in columns)
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table></section>")
    return "\n".join(parts)


def _record_html(name: str, record: dict[str, Any]) -> str:
    title = escape(TITLES.get(name, name))
    rows = "".join(
        f'<tr><th scope="row">{escape(column)}</th><td>{_html_value(column, value)}</td></tr>'
        for column, value in record.items()
    )
    return (
        f'<section aria-labelledby="h-{name}"><h2 id="h-{name}">{title}</h2>'
        f'<table><caption>{title}</caption><thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></section>"
    )


def as_html(export: Export) -> bytes:
    window = export.window.as_dict()
    span = f"from {window['from'] or 'the start'} to {window['to'] or 'the export'}"
    contents = "".join(
        f'<li><a href="#h-{name}">{escape(TITLES.get(name, name))}</a></li>'
        for name in (export.record_name, *export.tables)
    )
    body = "\n".join(
        [_record_html(export.record_name, export.record)]
        + [_table_html(name, rows) for name, rows in export.tables.items()]
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(export.title)}: records held by pmo-bot</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>{escape(export.title)}: records held by pmo-bot</h1>
<p>Exported {escape(export.exported_at.isoformat())} (UTC), {escape(span)}. Schema {escape(export.schema)}.</p>
</header>
<nav aria-label="Contents"><ul>{contents}</ul></nav>
<main>
{body}
</main>
</body>
</html>
"""
    return page.encode("utf-8")


def render(export: Export, format_name: str) -> bytes:
    return {"json": as_json, "csv": as_csv_zip, "html": as_html}[format_name](export)
