"""Identical inputs give identical files: the renderers are run with the data cut-off as "now"
(SOURCE_DATE_EPOCH), Word files get fixed zip timestamps, and Quarto's HTML loses the
temporary path of the staged project."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def normalise_docx(path: Path, epoch: int) -> None:
    """Give every zip entry of a Word file the same timestamp (the epoch, as in the document's
    properties): identical content then gives identical bytes, whoever wrote the zip."""
    import datetime as dt
    import zipfile

    stamp = dt.datetime.fromtimestamp(max(epoch, 315532800), dt.UTC).timetuple()[:6]
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            z.writestr(fixed, data)
    tmp.replace(path)


def without_stage_paths(path: Path, stage: Path) -> None:
    """Quarto writes the absolute path of each embedded notebook into its HTML
    (`data-notebook="/tmp/…/build/notebooks/…"`): make it relative to the staged project, so
    that the same results give the same file wherever and whenever they were staged."""
    text = path.read_text(encoding="utf-8")
    fixed = text
    for prefix in {str(stage.resolve()), str(stage)}:
        fixed = fixed.replace(prefix + "/", "")
    if fixed != text:
        path.write_text(fixed, encoding="utf-8")


@contextmanager
def source_date(epoch: int | None) -> Iterator[None]:
    """SOURCE_DATE_EPOCH for pandoc, Quarto and typst while rendering, then as it was."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def strip_run_metadata(notebooks: Path) -> None:
    """Staged notebooks without what only says when and how they ran (papermill's timings and
    paths, execution counts, empty tags): Quarto writes cell metadata into its HTML as
    attributes, in an order that varies between renders, and a rerun would change the times."""
    import json

    for nb_path in sorted(notebooks.rglob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        nb.get("metadata", {}).pop("papermill", None)
        for cell in nb.get("cells", []):
            tags = cell.get("metadata", {}).get("tags")
            cell["metadata"] = {"tags": tags} if tags else {}
            if cell.get("cell_type") == "code":
                cell["execution_count"] = None
                for out in cell.get("outputs", []):
                    if "execution_count" in out:
                        out["execution_count"] = None
        nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")


_PDF_DATE = re.compile(rb"D:\d{14}")
_XMP_DATE = re.compile(rb"(?<=Date>)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_PDF_ID = re.compile(rb"(/ID\s*\[\s*\()([A-Za-z0-9+/=]+)(\)\s*\()([A-Za-z0-9+/=]+)(\))")
_XMP_ID = re.compile(rb"(?<=ID>)[A-Za-z0-9+/=]+(?=</xmpMM:)")


def pdf_dated(path: Path, epoch: int) -> None:
    """Give a PDF the epoch as its creation and modification date, and an identifier derived
    from its content (Quarto's typst stamps the wall-clock time whatever SOURCE_DATE_EPOCH
    says). Every replacement keeps its length, so the cross-reference offsets stay valid."""
    import base64
    import datetime as dt
    import hashlib

    data = path.read_bytes()
    when = dt.datetime.fromtimestamp(epoch, dt.UTC)
    fixed = _PDF_DATE.sub(when.strftime("D:%Y%m%d%H%M%S").encode(), data)
    fixed = _XMP_DATE.sub(when.strftime("%Y-%m-%dT%H:%M:%S").encode(), fixed)
    blank = _XMP_ID.sub(b"", _PDF_ID.sub(rb"\1\3\5", fixed))
    digest = base64.b64encode(hashlib.md5(blank, usedforsecurity=False).digest()) * 4

    def ids(m: re.Match) -> bytes:
        first, second = digest[: len(m.group(2))], digest[: len(m.group(4))]
        return m.group(1) + first + m.group(3) + second + m.group(5)

    fixed = _PDF_ID.sub(ids, fixed)
    fixed = _XMP_ID.sub(lambda m: digest[: len(m.group(0))], fixed)
    if fixed != data:
        path.write_bytes(fixed)
