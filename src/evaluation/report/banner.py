"""The synthetic-data banner on every page, in each output format, for Quarto and the fallback.

Written into the staged project's reports/_generated/ at render time (see `_quarto.yml`): an
HTML block before the body, a typst page set-up, and a Word reference document whose page
header carries the banner. With real data the HTML and the header are empty.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import zipfile
from pathlib import Path

# tables sit in figures, which typst keeps on one page: a long table ran off the page or was
# printed over itself; and table text a little smaller than body text, as in print
TYPST_TABLES = "#show figure: set block(breakable: true)\n#show table: set text(size: 0.9em)\n"

HEADER_PART = "word/header-banner.xml"
HEADER_ID = "rIdSyntheticBanner"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def html_banner(banner: str | None) -> str:
    """A sticky banner at the top of the HTML page (empty without a banner)."""
    if not banner:
        return ""
    return (
        '<div class="synthetic-banner" style="position:sticky;top:0;z-index:10;background:#222;'
        f'color:#fff;text-align:center;padding:.35rem;font-weight:bold">{html.escape(banner)}'
        "</div>\n"
    )


def typst_page_setup(banner: str | None) -> str:
    """Typst rules: breakable tables and, with a banner, a header on every page."""
    text = TYPST_TABLES
    if banner:
        safe = re.sub(r"([\\\[\]#*_`$<>@])", r"\\\1", banner)
        text += f'#set page(header: align(center, text(size: 8pt, weight: "bold")[{safe}]))\n'
    return text


def default_reference_docx() -> bytes:
    """pandoc's own reference.docx (pypandoc-binary), the styles Word output starts from."""
    import pypandoc

    return subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
        capture_output=True,
        check=True,
    ).stdout


def _header_xml(banner: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:hdr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:jc w:val="center"/></w:pPr>'
        '<w:r><w:rPr><w:b/><w:sz w:val="16"/></w:rPr>'
        f'<w:t xml:space="preserve">{html.escape(banner, quote=False)}</w:t></w:r></w:p></w:hdr>'
    )


def reference_docx(banner: str | None) -> bytes:
    """A Word reference document on A4; with a banner, its page header (every page) carries it.

    pandoc (and so Quarto) keeps the reference document's page set-up and headers.
    """
    src = zipfile.ZipFile(io.BytesIO(default_reference_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = _section(data.decode("utf-8"), bool(banner)).encode("utf-8")
            elif banner and item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    f'<Override PartName="/{HEADER_PART}" ContentType="application/'
                    'vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
                    "</Types>".encode(),
                )
            elif banner and item.filename == "word/_rels/document.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    f'<Relationship Id="{HEADER_ID}" Type="{R_NS}/header" '
                    f'Target="{Path(HEADER_PART).name}"/></Relationships>'.encode(),
                )
            dst.writestr(item, data)
        if banner:
            dst.writestr(HEADER_PART, _header_xml(banner))
    return out.getvalue()


def _section(document: str, header: bool) -> str:
    """The body's section properties: A4 with 2.5 cm margins, and the banner header."""
    if f'xmlns:r="{R_NS}"' not in document:
        document = document.replace("<w:document ", f'<w:document xmlns:r="{R_NS}" ', 1)
    first = f'<w:headerReference w:type="default" r:id="{HEADER_ID}"/>' if header else ""
    page = (
        '<w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1417" w:right="1417" '
        'w:bottom="1417" w:left="1417" w:header="708" w:footer="708" w:gutter="0"/>'
    )
    document = re.sub(r"<w:sectPr\b[^>]*>", lambda m: m.group(0) + first, document)
    return document.replace("</w:sectPr>", page + "</w:sectPr>")


def write_banners(generated: Path, banner: str | None) -> None:
    """The banner files `_quarto.yml` includes: banner.html, banner.typ, reference.docx."""
    generated.mkdir(parents=True, exist_ok=True)
    (generated / "banner.html").write_text(html_banner(banner), encoding="utf-8")
    (generated / "banner.typ").write_text(typst_page_setup(banner), encoding="utf-8")
    (generated / "reference.docx").write_bytes(reference_docx(banner))
