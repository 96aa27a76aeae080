"""Byte-exact, streaming writers for landing-zone files (CSV and rolling Parquet parts).

CSV: UTF-8 without BOM, header row, ``,`` separator, ``\\n`` line ends, RFC-4180 quoting
(a field is quoted only when it holds ``,``, ``"``, CR or LF; inner quotes doubled), empty
field = null. Text is produced with vectorised Arrow compute kernels, never per row.
Files are written under a hidden temporary name and renamed when complete, so a loader
scanning the landing zone never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.demo.schema import ENTITIES

_ARROW_TYPES = {
    "str": pa.string(),
    "int": pa.int64(),
    "dec1": pa.float64(),
    "dec2": pa.float64(),
    "dec4": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "ts": pa.timestamp("s"),
}
_DECIMALS = {"dec1": 1, "dec2": 2, "dec4": 4}
_CSV_BLOCK_ROWS = 250_000
PARQUET_PART_ROWS = 2_000_000  # at most this many rows per Parquet part file


def arrow_schema(entity: str) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in ENTITIES[entity]])


def _to_arrow(values: object, kind: str) -> pa.Array:
    """Convert one generated column to its Arrow type.

    Dates are given as int days since 1970-01-01, timestamps as int seconds since
    1970-01-01T00:00:00 (naive local time); Arrow arrays are passed through (cast if needed).
    """
    typ = _ARROW_TYPES[kind]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if values.type == typ:
            return values
        if kind == "date" and pa.types.is_integer(values.type):
            return pc.cast(values, pa.int32()).view(pa.date32())
        if kind == "ts" and pa.types.is_integer(values.type):
            return pc.cast(values, pa.int64()).view(pa.timestamp("s"))
        return pc.cast(values, typ)
    arr = np.asarray(values)
    if kind == "date":
        return pa.array(arr.astype(np.int32)).view(pa.date32())
    if kind == "ts":
        return pa.array(arr.astype(np.int64)).view(pa.timestamp("s"))
    if kind == "int":
        return pa.array(arr.astype(np.int64))
    if kind in _DECIMALS:
        return pa.array(np.round(arr.astype(np.float64), _DECIMALS[kind]))
    if kind == "bool":
        return pa.array(arr.astype(bool))
    return pa.array(arr, type=pa.string())


def make_table(entity: str, cols: dict[str, object]) -> pa.Table:
    """Build an entity table with exactly the contract's columns, in order, typed by kind."""
    spec = ENTITIES[entity]
    missing = [name for name, _ in spec if name not in cols]
    extra = [name for name in cols if name not in {n for n, _ in spec}]
    if missing or extra:
        raise ValueError(f"{entity}: missing columns {missing}, unexpected {extra}")
    arrays = [_to_arrow(cols[name], kind) for name, kind in spec]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(entity))


def _fmt_decimal(arr: pa.Array, decimals: int) -> pa.Array:
    vals = arr.to_numpy(zero_copy_only=False).astype(np.float64)
    valid = ~np.isnan(vals)
    scale = 10**decimals
    scaled = np.rint(np.where(valid, vals, 0.0) * scale).astype(np.int64)
    absval = np.abs(scaled)
    int_part = pc.cast(pa.array(absval // scale), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(absval % scale), pa.string()), decimals, "0")
    text = pc.binary_join_element_wise(int_part, frac, ".")
    neg = scaled < 0
    if neg.any():
        text = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", text, ""), text)
    if not valid.all():
        text = pc.if_else(pa.array(valid), text, "")
    return text


def _fmt_column(arr: pa.Array, kind: str) -> pa.Array:
    if kind == "str":
        text = pc.fill_null(arr, "")
        needs = pc.match_substring_regex(text, '[",\r\n]')
        if pc.any(needs).as_py():
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
            text = pc.if_else(needs, quoted, text)
        return text
    if kind in _DECIMALS:
        return _fmt_decimal(arr, _DECIMALS[kind])
    # int, bool, date: Arrow's casts already give 123 / true / 2024-01-31
    text = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S") if kind == "ts" else pc.cast(arr, pa.string())
    return pc.fill_null(text, "")


def csv_bytes(table: pa.Table, kinds: list[str]) -> bytes:
    """The CSV text (without header) of a table, one line per row."""
    if table.num_rows == 0:
        return b""
    out = []
    for start in range(0, table.num_rows, _CSV_BLOCK_ROWS):
        block = table.slice(start, _CSV_BLOCK_ROWS)
        cols = [_fmt_column(block.column(i).combine_chunks(), kind) for i, kind in enumerate(kinds)]
        line = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
        line = pc.binary_join_element_wise(line, "\n", "")
        if isinstance(line, pa.ChunkedArray):
            line = line.combine_chunks()
        offsets = np.frombuffer(
            line.buffers()[1], dtype=np.int32, count=len(line) + 1, offset=line.offset * 4
        )
        data = line.buffers()[2]
        out.append(data.to_pybytes()[offsets[0] : offsets[-1]])
    return b"".join(out)


def header_bytes(names: list[str]) -> bytes:
    return (",".join(names) + "\n").encode("utf-8")


class EntityWriter:
    """Append chunks of one entity to its landing file(s), tracking row positions.

    ``fmt="csv"`` writes ``<entity>_<tag><suffix>.csv``; ``fmt="parquet"`` writes parts
    ``<entity>_<tag>_partNNNN.parquet`` of at most ``part_rows`` rows each.
    """

    def __init__(
        self,
        landing_dir: Path,
        entity: str,
        tag: str,
        *,
        fmt: str = "csv",
        suffix: str = "",
        part_rows: int | None = None,
    ) -> None:
        self.entity = entity
        self.fmt = fmt
        self.folder = Path(landing_dir) / entity
        self.folder.mkdir(parents=True, exist_ok=True)
        self.base = f"{entity.split('/')[-1]}_{tag}{suffix}"
        self.kinds = [kind for _, kind in ENTITIES[entity]]
        self.names = [name for name, _ in ENTITIES[entity]]
        self.schema = arrow_schema(entity)
        self.part_rows = int(part_rows or PARQUET_PART_ROWS)
        self.rows = 0
        self.paths: list[Path] = []
        self._fh = None
        self._pq: pq.ParquetWriter | None = None
        self._part_fill = 0
        self._part_starts: list[int] = []
        self._tmp: Path | None = None
        if fmt == "csv":
            self._open_csv()
        elif fmt != "parquet":
            raise ValueError(f"unknown format {fmt!r}")

    # -- file names -------------------------------------------------------------------
    def file_name(self, part: int = 0) -> str:
        if self.fmt == "csv":
            return f"{self.base}.csv"
        return f"{self.base}_part{part + 1:04d}.parquet"

    def location(self, global_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(file name, 1-based row number in that file) for 0-based global row indexes."""
        global_rows = np.asarray(global_rows, dtype=np.int64)
        if self.fmt == "csv":
            names = np.full(len(global_rows), self.file_name(), dtype=object)
            return names, global_rows + 1
        starts = np.asarray(self._part_starts, dtype=np.int64)
        part = np.searchsorted(starts, global_rows, side="right") - 1
        names = np.array([self.file_name(p) for p in range(len(starts))], dtype=object)
        return names[part], global_rows - starts[part] + 1

    # -- writing ----------------------------------------------------------------------
    def _open_csv(self) -> None:
        final = self.folder / self.file_name()
        self._tmp = self.folder / f".{final.name}.tmp"
        self._fh = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
        self._fh.write(header_bytes(self.names))

    def _open_part(self) -> None:
        part = len(self.paths)
        final = self.folder / self.file_name(part)
        self._tmp = self.folder / f".{final.name}.tmp"
        self._pq = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._part_fill = 0
        self._part_starts.append(self.rows)

    def _close_part(self) -> None:
        if self._pq is not None:
            self._pq.close()
            final = self.folder / self.file_name(len(self.paths))
            os.replace(self._tmp, final)
            self.paths.append(final)
            self._pq = None

    def write(self, table: pa.Table) -> int:
        """Append a table; returns the 0-based global index of its first row."""
        start = self.rows
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self.fmt == "csv":
            self._fh.write(csv_bytes(table, self.kinds))
        else:
            # A chunk that does not fit the current part starts a new one, so chunks stay
            # whole (and a duplicated row stays next to its original) unless > part_rows.
            if self._pq is not None and self._part_fill + table.num_rows > self.part_rows:
                self._close_part()
            offset = 0
            while offset < table.num_rows:
                if self._pq is None:
                    self._open_part()
                take = min(self.part_rows - self._part_fill, table.num_rows - offset)
                self._pq.write_table(table.slice(offset, take))
                self._part_fill += take
                self.rows += take
                offset += take
                if self._part_fill >= self.part_rows:
                    self._close_part()
            return start
        self.rows += table.num_rows
        return start

    def close(self) -> list[Path]:
        if self.fmt == "csv":
            if self._fh is not None:
                self._fh.close()
                final = self.folder / self.file_name()
                os.replace(self._tmp, final)
                self.paths.append(final)
                self._fh = None
        else:
            if self._pq is None and not self.paths:  # no rows at all: still write one part
                self._open_part()
            self._close_part()
        return self.paths


def write_entity(landing_dir: Path, entity: str, tag: str, cols: dict[str, object]) -> EntityWriter:
    """Write a whole (small) entity into one CSV file; returns the closed writer."""
    writer = EntityWriter(landing_dir, entity, tag)
    writer.write(make_table(entity, cols))
    writer.close()
    return writer
