"""Plain text out of the rendered report files, for tests that read the report like a person."""

from __future__ import annotations

import html
import re
import zipfile
from functools import lru_cache
from pathlib import Path


def html_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    raw = re.sub(r'src="data:[^"]*"', "", raw)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    xml = re.sub(r"</w:p>", "\n", xml)
    xml = re.sub(r"<w:tab/>", " ", xml)
    text = html.unescape(re.sub(r"<[^>]+>", "", xml))
    return re.sub(r"[ \t]+", " ", text)


def docx_table_count(path: Path) -> int:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8").count("<w:tbl>")


def pdf_pages(path: Path) -> list[str]:
    """The text of each page (pypdf is slow: a file is read once per session unless it changes)."""
    st = Path(path).stat()
    return list(_pdf_pages(str(Path(path).resolve()), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=64)
def _pdf_pages(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    from pypdf import PdfReader

    return tuple(page.extract_text() or "" for page in PdfReader(path).pages)


def pdf_text(path: Path) -> str:
    return "\n".join(pdf_pages(path))


def html_tables(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every table of a rendered HTML file as (text of the nearest heading before it, rows of
    cell texts, header row first), read as a person reads them."""
    from html.parser import HTMLParser

    class _Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.heading, self.in_heading, self.skip = "", False, 0
            self.tables: list[tuple[str, list[list[str]]]] = []
            self.rows: list[list[str]] | None = None
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            cls = dict(attrs).get("class") or ""
            if tag in ("script", "style") or "section-number" in cls:
                self.skip += 1
            elif tag in ("h1", "h2", "h3", "h4"):
                self.in_heading, self.heading = True, ""
            elif tag == "table":
                self.rows = []
            elif tag == "tr" and self.rows is not None:
                self.rows.append([])
            elif tag in ("td", "th") and self.rows is not None:
                self.cell = []

        def handle_endtag(self, tag):
            if tag in ("script", "style") or (tag == "span" and self.skip):
                self.skip = max(0, self.skip - 1)
            elif tag in ("h1", "h2", "h3", "h4"):
                self.in_heading = False
            elif tag in ("td", "th") and self.cell is not None and self.rows:
                self.rows[-1].append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
                self.cell = None
            elif tag == "table" and self.rows is not None:
                self.tables.append((self.heading.strip(), [r for r in self.rows if r]))
                self.rows = None

        def handle_data(self, data):
            if self.skip:
                return
            if self.in_heading:
                self.heading += data
            if self.cell is not None:
                self.cell.append(data)

    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables
