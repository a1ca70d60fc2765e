"""The synthetic-data banner on every page that shows synthetic results, in each output format,
for Quarto and the fallback; the chapter of real published figures says so instead.

Written into the staged project's reports/_generated/ at render time (see `_quarto.yml`): an
HTML block before the body, a typst page set-up, and a Word reference document whose page
header carries the banner. With real data the HTML and the header are empty.

A chapter that shows only the real published figures starts with `{{< data-notice published >}}`
under its heading, and the chapter after it with `{{< data-notice synthetic >}}`; staging turns
them into a page (Word: section) break and a mark that switches the page header to the published
notice and back, and, in HTML, a notice that stays on screen while that chapter is read.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import zipfile
from pathlib import Path

# tables sit in figures, which typst keeps on one page: a long table ran off the page or was
# printed over itself, so figures may break; table text a little smaller than body text, as
# in print, and ragged (justified narrow cells spread "51 of 148" across the column)
TYPST_TABLES = (
    "#show figure: set block(breakable: true)\n"
    # but a short table (under 8 cm) moves whole to the next page with its caption rather
    # than leave a row or two at the foot of a page (pandoc's kind: table, Quarto's float)
    "#show figure: it => context {\n"
    '  let table-kind = it.kind == table or it.kind == "quarto-float-tbl"\n'
    "  set block(breakable: not table-kind or measure(it.body, width: 15cm).height > 8cm)\n"
    "  it\n"
    "}\n"
    "#show table: set text(size: 0.9em)\n"
    "#show table: set par(justify: false)\n"
    # "95 %" and "51 of 148" never broken over two lines
    '#show regex("\\d %"): it => it.text.replace(" ", "\\u{a0}")\n'
    '#show regex("\\d of \\d"): it => it.text.replace(" ", "\\u{a0}")\n'
)

HEADER_PART = "word/header-banner.xml"
HEADER_ID = "rIdSyntheticBanner"
PUBLISHED_PART = "word/header-published.xml"
PUBLISHED_ID = "rIdPublishedNotice"
# the page header of pages that show only real published figures (when the case data are synthetic)
PUBLISHED_NOTICE = (
    "REAL PUBLISHED FIGURES: this chapter shows only figures VluchtelingenWerk and DT&V published, "
    "no synthetic data"
)
NOTICE = re.compile(r"^\{\{<\s*data-notice\s+(\w+)\s*>\}\}\s*$", re.M)
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


# the published notice covers the banner while its chapter is on screen (sticky in its section)
NOTICE_CSS = (
    ".published-notice { position: sticky; top: 0; z-index: 11; background: #e8eef5; "
    "color: #111; border: 1px solid #1f4e79; text-align: center; padding: .35rem; "
    "font-size: .9rem; margin-bottom: 1rem; }\n"
    "@media print { .published-notice { position: static; } }\n"
)


def html_banner(banner: str | None) -> str:
    """A sticky banner at the top of the HTML page (empty without a banner)."""
    if not banner:
        return ""
    return (
        f"<style>\n{NOTICE_CSS}</style>\n"
        '<div class="synthetic-banner" style="position:sticky;top:0;z-index:10;background:#222;'
        f'color:#fff;text-align:center;padding:.35rem;font-weight:bold">{html.escape(banner)}'
        "</div>\n"
    )


def _typst_text(text: str) -> str:
    return re.sub(r"([\\\[\]#*_`$<>@])", r"\\\1", text)


def typst_page_setup(banner: str | None) -> str:
    """Typst rules: breakable tables and, with a banner, a header on every page: the banner, or
    the published notice on the pages of a chapter marked `published` (see `notice_blocks`)."""
    text = TYPST_TABLES
    if banner:
        # a page after a `published` mark (the chapter starts on a new page) and without a
        # `synthetic` mark (the next chapter does too) shows only real published figures
        header = (
            "#set page(header: context {\n"
            "  let at = here().page()\n"
            "  let marks = query(<data-notice>).filter(m => m.location().page() <= at)\n"
            '  if marks.len() > 0 and marks.last().value == "published" {\n'
            "    align(center, text(size: 8pt)[<<notice>>])\n"
            "  } else {\n"
            '    align(center, text(size: 8pt, weight: "bold")[<<banner>>])\n'
            "  }\n"
            "})\n"
        )
        text += header.replace("<<notice>>", _typst_text(PUBLISHED_NOTICE)).replace(
            "<<banner>>", _typst_text(banner)
        )
    return text


def default_reference_docx() -> bytes:
    """pandoc's own reference.docx (pypandoc-binary), the styles Word output starts from."""
    import pypandoc

    return subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
        capture_output=True,
        check=True,
    ).stdout


def _header_xml(banner: str, bold: bool = True) -> str:
    weight = "<w:b/>" if bold else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:hdr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:jc w:val="center"/></w:pPr>'
        f'<w:r><w:rPr>{weight}<w:sz w:val="16"/></w:rPr>'
        f'<w:t xml:space="preserve">{html.escape(banner, quote=False)}</w:t></w:r></w:p></w:hdr>'
    )


def _content_type(part: str) -> bytes:
    return (
        f'<Override PartName="/{part}" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
    ).encode()


def _header_rel(ident: str, part: str) -> bytes:
    return f'<Relationship Id="{ident}" Type="{R_NS}/header" Target="{Path(part).name}"/>'.encode()


def reference_docx(banner: str | None) -> bytes:
    """A Word reference document on A4; with a banner, its page header (every page) carries it,
    and a second header holds the published notice for the sections `notice_blocks` marks.

    pandoc (and so Quarto) keeps the reference document's page set-up, headers and their ids.
    """
    src = zipfile.ZipFile(io.BytesIO(default_reference_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = _section(data.decode("utf-8"), bool(banner)).encode("utf-8")
            elif banner and item.filename == "[Content_Types].xml":
                types = _content_type(HEADER_PART) + _content_type(PUBLISHED_PART)
                data = data.replace(b"</Types>", types + b"</Types>")
            elif banner and item.filename == "word/_rels/document.xml.rels":
                rels = _header_rel(HEADER_ID, HEADER_PART) + _header_rel(
                    PUBLISHED_ID, PUBLISHED_PART
                )
                data = data.replace(b"</Relationships>", rels + b"</Relationships>")
            dst.writestr(item, data)
        if banner:
            dst.writestr(HEADER_PART, _header_xml(banner))
            dst.writestr(PUBLISHED_PART, _header_xml(PUBLISHED_NOTICE, bold=False))
    return out.getvalue()


PAGE = (
    '<w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1417" w:right="1417" '
    'w:bottom="1417" w:left="1417" w:header="708" w:footer="708" w:gutter="0"/>'
)


def _section(document: str, header: bool) -> str:
    """The body's section properties: A4 with 2.5 cm margins, and the banner header."""
    if f'xmlns:r="{R_NS}"' not in document:
        document = document.replace("<w:document ", f'<w:document xmlns:r="{R_NS}" ', 1)
    first = f'<w:headerReference w:type="default" r:id="{HEADER_ID}"/>' if header else ""
    page = PAGE
    document = re.sub(r"<w:sectPr\b[^>]*>", lambda m: m.group(0) + first, document)
    return document.replace("</w:sectPr>", page + "</w:sectPr>")


def notice_blocks(kind: str, banner: str | None) -> tuple[str, str]:
    """What `{{< data-notice KIND >}}` under a chapter heading becomes: (Markdown before the
    heading, Markdown after it). `published` ends the section before with the synthetic banner
    and starts the chapter on a new page under the published notice; `synthetic` ends the
    published section and goes back to the banner. Nothing without a banner (real case data)."""
    if kind not in ("published", "synthetic"):
        raise ValueError(f"data-notice {kind!r}: use 'published' or 'synthetic'")
    if not banner:
        return "", ""
    # a Word section break closes the section before it with these properties and its header
    ending = HEADER_ID if kind == "published" else PUBLISHED_ID
    sect = (
        f'<w:p><w:pPr><w:sectPr><w:headerReference w:type="default" r:id="{ending}"/>'
        f'<w:type w:val="nextPage"/>{PAGE}</w:sectPr></w:pPr></w:p>'
    )
    before = (
        f'```{{=typst}}\n#pagebreak(weak: true)\n#metadata("{kind}") <data-notice>\n```\n\n'
        f"```{{=openxml}}\n{sect}\n```\n\n"
    )
    if kind == "synthetic":
        return before, ""
    after = (
        f'```{{=html}}\n<div class="published-notice">{html.escape(PUBLISHED_NOTICE)}</div>\n```\n'
    )
    return before, after


def resolve_notices(text: str, banner: str | None) -> str:
    """Each `{{< data-notice KIND >}}` line (right under a heading) as `notice_blocks` says."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        m = NOTICE.match(line)
        if not m:
            out.append(line)
            continue
        before, after = notice_blocks(m.group(1), banner)
        heading = next(i for i in range(len(out) - 1, -1, -1) if out[i].strip())
        if not out[heading].startswith("#"):
            raise ValueError(f"data-notice {m.group(1)!r} must follow a heading")
        out[heading:heading] = [before] if before else []
        out.append(after)
    return "\n".join(out)


def resolve_notice_tree(reports: Path, banner: str | None) -> None:
    """Resolve the data notices of every staged .qmd under reports/ in place."""
    for qmd in sorted(reports.rglob("*.qmd")):
        text = qmd.read_text(encoding="utf-8")
        if NOTICE.search(text):
            qmd.write_text(resolve_notices(text, banner), encoding="utf-8")


def link_section_headers(path: Path) -> bool:
    """Point the section breaks of a Word file at its banner and notice headers.

    The breaks (`notice_blocks`) name the headers by the reference document's relationship
    ids; pandoc versions that renumber relationships (Quarto's) leave those ids dangling, which
    Word reports as unreadable content. Returns True when the file was changed."""
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    parts = dict((i.filename, data) for i, data in entries)
    rels = parts.get("word/_rels/document.xml.rels", b"").decode("utf-8")
    document = parts.get("word/document.xml", b"").decode("utf-8")
    fixed = document
    for ident, part in ((HEADER_ID, HEADER_PART), (PUBLISHED_ID, PUBLISHED_PART)):
        if f'Id="{ident}"' in rels:
            continue
        found = re.search(rf'<Relationship\b[^>]*Target="{Path(part).name}"[^>]*>', rels)
        actual = re.search(r'Id="(\w+)"', found.group(0)).group(1) if found else None
        if actual:
            fixed = fixed.replace(f'r:id="{ident}"', f'r:id="{actual}"')
    if fixed == document:
        return False
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            z.writestr(
                info, fixed.encode("utf-8") if info.filename == "word/document.xml" else data
            )
    tmp.replace(path)
    return True


def write_banners(generated: Path, banner: str | None) -> None:
    """The banner files `_quarto.yml` includes: banner.html, banner.typ, reference.docx."""
    generated.mkdir(parents=True, exist_ok=True)
    (generated / "banner.html").write_text(html_banner(banner), encoding="utf-8")
    (generated / "banner.typ").write_text(typst_page_setup(banner), encoding="utf-8")
    (generated / "reference.docx").write_bytes(reference_docx(banner))
