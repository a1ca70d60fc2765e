"""The skeleton of a rendered report, read the same way whichever renderer made it: numbered
sections, figure and table captions in order, cross-references with the text they show, and
the headline numbers in the text. Quarto and the pandoc fallback mark these up differently
(Quarto puts section ids on <section>, wraps floats in divs and Word tables in layout tables);
these readers look only at what a reader sees."""

from __future__ import annotations

import html as htmllib
import re
import zipfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from textutil import docx_text, html_text, pdf_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TAG = re.compile(r"<(h[1-6]|section)\b([^>]*)>")
ATTR = re.compile(r'([\w-]+)="([^"]*)"')
CAPTION = re.compile(r"<(figcaption|caption)\b[^>]*>(.*?)</\1>", re.S)
EXHIBIT = re.compile(r"\b(Figure|Table)\s(\d+):")
XREF_TEXT = re.compile(r"^(Figure|Table|Section)\s[\d.]+$")
PERCENT = re.compile(r"\b\d{1,3}\.\d\s?%")
N_OF_N = re.compile(r"\b\d+ of \d+\b")


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _body(raw: str) -> str:
    raw = re.sub(r'(src|href)="data:[^"]*"', r'\1=""', raw)
    return re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)


def html_sections(path: Path) -> dict[str, str]:
    """sec- id -> its number, from <hN>/<section> elements carrying both."""
    out = {}
    for m in TAG.finditer(_body(path.read_text(encoding="utf-8"))):
        attrs = dict(ATTR.findall(m.group(2)))
        ident = attrs.get("id") or attrs.get("data-anchor-id", "")
        if ident.startswith("sec-") and "data-number" in attrs:
            out.setdefault(ident, attrs["data-number"])
    return out


def html_exhibits(path: Path) -> list[tuple[str, str]]:
    """(fig-/tbl- label, 'Figure N'/'Table N') in order: the first caption after the label."""
    raw = _body(path.read_text(encoding="utf-8"))
    out = []
    for m in re.finditer(r'\bid="((?:fig|tbl)-[\w-]+)"', raw):
        if "-caption" in m.group(1):  # Quarto's id of the caption itself
            continue
        cap = CAPTION.search(raw, m.end())
        number = EXHIBIT.match(_text(cap.group(2))) if cap else None
        if number and all(label != m.group(1) for label, _ in out):
            out.append((m.group(1), f"{number.group(1)} {number.group(2)}"))
    return out


def html_xrefs(path: Path) -> list[tuple[str, str]]:
    """Cross-references in order: (target, shown text such as 'Table 3')."""
    raw = _body(path.read_text(encoding="utf-8"))
    out = []
    for m in re.finditer(r'<a\b[^>]*href="#((?:fig|tbl|sec)-[\w-]+)"[^>]*>(.*?)</a>', raw, re.S):
        text = _text(m.group(2)).replace("\u00a0", " ")
        if XREF_TEXT.match(text):
            out.append((m.group(1), text))
    return out


def html_table_count(path: Path) -> int:
    return len(re.findall(r"<table\b", _body(path.read_text(encoding="utf-8"))))


def _docx_root(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        return ET.fromstring(z.read("word/document.xml"))


def _para_text(p: ET.Element) -> str:
    return " ".join("".join(t.text or "" for t in p.iter(f"{W}t")).split())


def docx_headings(path: Path) -> list[tuple[str, str]]:
    """(number, title) of each numbered heading; Quarto writes '2.' where pandoc writes '2'."""
    out = []
    for p in _docx_root(path).iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is None or not style.get(f"{W}val", "").startswith("Heading"):
            continue
        runs = ["".join(t.text or "" for t in r.iter(f"{W}t")) for r in p.iter(f"{W}r")]
        m = re.match(r"^\s*(\d+(?:\.\d+)*)\.?\s*(.*)$", "".join(runs))
        if m:
            out.append((m.group(1), " ".join(m.group(2).split())))
    return out


def docx_exhibits(path: Path) -> list[str]:
    """'Figure N'/'Table N' of every caption paragraph, in order."""
    out = []
    for p in _docx_root(path).iter(f"{W}p"):
        m = EXHIBIT.match(_para_text(p))
        if m:
            out.append(f"{m.group(1)} {m.group(2)}")
    return out


def docx_xrefs(path: Path) -> list[tuple[str, str]]:
    out = []
    for h in _docx_root(path).iter(f"{W}hyperlink"):
        anchor = h.get(f"{W}anchor", "")
        text = " ".join("".join(t.text or "" for t in h.iter(f"{W}t")).split())
        if re.match(r"(fig|tbl|sec)-", anchor) and XREF_TEXT.match(text.replace("\u00a0", " ")):
            out.append((anchor, text.replace("\u00a0", " ")))
    return out


def docx_data_tables(path: Path) -> int:
    """Native Word tables holding data: innermost tables without a picture (Quarto lays out
    captioned figures and tables in an outer one-cell table)."""
    count = 0
    for tbl in _docx_root(path).iter(f"{W}tbl"):
        inner = [t for t in tbl.iter(f"{W}tbl") if t is not tbl]
        has_picture = any(True for _ in tbl.iter(f"{W}drawing"))
        count += not inner and not has_picture
    return count


def pdf_exhibits(path: Path) -> list[str]:
    """'Figure N'/'Table N' captions in page order (each counted once)."""
    seen: list[str] = []
    for m in EXHIBIT.finditer(" ".join(pdf_text(path).split())):
        label = f"{m.group(1)} {m.group(2)}"
        if label not in seen:
            seen.append(label)
    return seen


def headline_numbers(text: str) -> Counter:
    """Every 'xx.x %' and 'n of N' in the text, with how often each occurs."""
    flat = " ".join(text.replace("\u00a0", " ").split())
    return Counter(p.replace(" ", "") for p in PERCENT.findall(flat)) + Counter(
        N_OF_N.findall(flat)
    )


def report_text(path: Path) -> str:
    reader = {".html": html_text, ".docx": docx_text, ".pdf": pdf_text}[path.suffix]
    return reader(path)
