"""Identifiers as integer codes that compare, sort and join exactly as the identifiers do.

Pseudonymised identifiers are strings; joining, matching and sorting on them costs pandas far
more than the same work on integers. Code that only links tables through identifiers (the
disclosure ledger counts people; it never prints an identifier) can run on codes: every
identifier column is mapped through one sorted vocabulary, so equal identifiers get equal codes
in every table and codes sort as the identifiers do. A missing identifier stays missing (NaN,
in a float column).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def linking_columns(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Per table, its identifier columns that link tables: string columns named *_id whose
    name occurs in more than one table (a table's own row identifier is left alone)."""
    named = {
        name: [c for c in df.columns if c.endswith("_id") and pd.api.types.is_string_dtype(df[c])]
        for name, df in tables.items()
    }
    seen: dict[str, int] = {}
    for cols in named.values():
        for c in cols:
            seen[c] = seen.get(c, 0) + 1
    return {name: [c for c in cols if seen[c] > 1] for name, cols in named.items()}


def code_ids(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with every linking identifier replaced by its code (the input is unchanged)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {name: cols for name, cols in linking_columns(tables).items() if cols}
    if not columns:
        return dict(tables)
    parts = []
    for name, cols in columns.items():
        for c in cols:
            a = pa.array(tables[name][c].astype("str"))
            a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
            parts.append(a.cast(pa.large_string()))
    encoded = pa.concat_arrays(parts).dictionary_encode()  # one pass, one vocabulary
    words = encoded.dictionary
    rank = np.empty(len(words), np.int64)  # a word's place in sorted order
    rank[pc.sort_indices(words).to_numpy()] = np.arange(len(words))
    indices = encoded.indices
    valid = indices.is_valid().to_numpy(zero_copy_only=False)
    where = indices.fill_null(0).to_numpy(zero_copy_only=False)
    codes = rank[where]
    out = dict(tables)
    start = 0
    for name, cols in columns.items():
        df = tables[name].copy(deep=False)
        for c in cols:
            stop = start + len(df)
            ok = valid[start:stop]
            col = codes[start:stop] if ok.all() else np.where(ok, codes[start:stop], np.nan)
            df[c] = pd.Series(col, index=df.index, name=c)
            start = stop
        out[name] = df
    return out
