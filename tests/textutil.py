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
