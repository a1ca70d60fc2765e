"""Identical inputs give identical files: the renderers are run with the data cut-off as "now"
(SOURCE_DATE_EPOCH), Word files get fixed zip timestamps, and Quarto's HTML loses the
temporary path of the staged project."""

from __future__ import annotations

import os
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
