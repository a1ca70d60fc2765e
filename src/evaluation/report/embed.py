"""Resolve Quarto's `{{< include >}}` and `{{< embed nb.ipynb#label >}}` shortcodes to Markdown.

Used by the pandoc fallback (Quarto resolves them itself) and by the pre-render check that
every embed target exists with outputs.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.errors import ExecutionError

INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.M)
EMBED = re.compile(r"\{\{<\s*embed\s+([^#\s]+)#([\w-]+)(?:\s+[^>]*)?\s*>\}\}")
OPTION = re.compile(r"^#\|\s*([\w-]+)\s*:\s*(.*)$")


@dataclass
class Cell:
    """One labelled notebook cell: its Quarto options and its outputs."""

    label: str
    options: dict[str, str]
    outputs: list[dict]
    notebook: Path


@dataclass
class Notebook:
    """Labelled cells of one executed notebook."""

    path: Path
    cells: dict[str, Cell] = field(default_factory=dict)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return inner.replace("\\'", "'").replace('\\"', '"')
    return text


def cell_options(source: str) -> dict[str, str]:
    """Quarto `#| key: value` options at the top of a cell's source."""
    opts: dict[str, str] = {}
    for line in source.splitlines():
        m = OPTION.match(line)
        if not m:
            break
        opts[m.group(1)] = _unquote(m.group(2))
    return opts


def read_notebook(path: Path) -> Notebook:
    """Index an executed notebook's cells by label."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = Notebook(path)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        opts = cell_options(src)
        if "label" in opts:
            out.cells[opts["label"]] = Cell(opts["label"], opts, cell.get("outputs", []), path)
    return out


def embed_targets(qmd_text: str) -> list[tuple[str, str]]:
    """(notebook path, label) of every embed shortcode in the text."""
    return EMBED.findall(qmd_text)


def expand_includes(path: Path, seen: tuple[Path, ...] = (), root: Path | None = None) -> str:
    """The text of a .qmd with `{{< include >}}` shortcodes replaced, recursively.

    As in Quarto, an included file is pasted into the document that includes it: include and
    embed paths in it, at any depth, resolve from the folder of the top document (`root`), not
    from the included file's own folder. They are left as written.
    """
    if path in seen:
        raise ExecutionError(f"{path} includes itself")
    root = root or path.parent
    text = path.read_text(encoding="utf-8")

    def repl(m: re.Match) -> str:
        target = (root / m.group(1)).resolve()
        if not target.is_file():
            raise ExecutionError(f"{path.name} includes {m.group(1)}, which does not exist")
        return expand_includes(target, (*seen, path), root)

    return INCLUDE.sub(repl, text)


def check_targets(qmd_text: str, base: Path) -> list[str]:
    """Problems with embed targets: missing notebook, missing label, or a cell without outputs."""
    problems, cache = [], {}
    for nb_rel, label in embed_targets(qmd_text):
        nb_path = (base / nb_rel).resolve()
        if nb_path not in cache:
            cache[nb_path] = read_notebook(nb_path) if nb_path.is_file() else None
        nb = cache[nb_path]
        if nb is None:
            problems.append(f"embedded notebook {nb_rel} does not exist (was it executed?)")
        elif label not in nb.cells:
            problems.append(f"{nb_rel} has no cell labelled '{label}'")
        elif not nb.cells[label].outputs:
            problems.append(f"{nb_rel}#{label} has no outputs (executed without error?)")
    return problems


def attach_caption(md: str, caption_line: str) -> str:
    """Put a pandoc table caption right after the first pipe table (before any legend)."""
    lines = md.rstrip().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("|")), None)
    if start is None:
        return md.rstrip() + "\n\n" + caption_line
    end = start
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    return "\n".join(lines[:end] + ["", caption_line, ""] + lines[end:])


def output_markdown(cell: Cell, media_dir: Path, number: str | None) -> str:
    """Markdown for a cell's outputs, as Quarto shows them: figures, tables, text."""
    label, opts = cell.label, cell.options
    parts: list[str] = []
    captioned = False
    for out in cell.outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
            parts.append("```\n" + text.rstrip() + "\n```")
        if kind not in ("display_data", "execute_result"):
            continue
        data = out.get("data", {})
        if "image/png" in data:
            media_dir.mkdir(parents=True, exist_ok=True)
            png = media_dir / f"{label}.png"
            png.write_bytes(base64.b64decode("".join(data["image/png"])))
            cap = opts.get("fig-cap", "")
            cap = f"Figure {number}: {cap}" if number else cap
            alt = opts.get("fig-alt", cap)
            parts.append(f'![{cap}]({media_dir.name}/{png.name}){{#{label} fig-alt="{alt}"}}')
        elif "text/markdown" in data:
            md = "".join(data["text/markdown"])
            has_table = any(ln.lstrip().startswith("|") for ln in md.splitlines())
            if label.startswith("tbl-") and "tbl-cap" in opts and has_table and not captioned:
                captioned = True
                cap = f"Table {number}: {opts['tbl-cap']}" if number else opts["tbl-cap"]
                md = attach_caption(md, f": {cap} {{#{label}}}")
            parts.append(md)
        elif "text/plain" in data and not label.startswith("fig-"):
            parts.append("```\n" + "".join(data["text/plain"]).rstrip() + "\n```")
    return "\n\n".join(parts)
