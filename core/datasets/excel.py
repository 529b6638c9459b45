"""Read one sheet of an Excel workbook (.xlsx) into rows of strings, changing nothing silently.

- A workbook whose data is on several sheets is refused without a sheet name (`--sheet`,
  the Data page's picker): reading the first one quietly dropped the others. Empty sheets
  do not count.
- A formula cell is read as the value Excel saved with it. A workbook written by a program
  that does not compute formulas has none saved: those cells would become empty labels, so
  the sheet is refused with their count and the first one's address and formula.
"""

from __future__ import annotations

import io

import pandas as pd

from core.datasets.cells import cell_text, header_names
from core.datasets.errors import DatasetError


def _open(data: bytes, name: str, values: bool):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=values)
    except Exception as e:  # a corrupt or encrypted workbook
        raise DatasetError(f"{name} could not be opened as an Excel workbook ({e}); save it "
                           "again from Excel as .xlsx or as CSV.") from None


def _has_data(sheet) -> bool:
    return any(any(v not in (None, "") for v in row)
               for row in sheet.iter_rows(values_only=True))


def sheet_names(data: bytes, name: str = "the workbook") -> list[str]:
    """The names of the sheets that hold any value, in workbook order."""
    wb = _open(data, name, values=True)
    try:
        return [s.title for s in wb.worksheets if _has_data(s)]
    finally:
        wb.close()


def read_excel(data: bytes, name: str, sheet: str | None = None
               ) -> tuple[pd.DataFrame, list[str]]:
    """(table of strings, notes) of the sheet `sheet`, or of the only sheet with data."""
    if not data.startswith(b"PK\x03\x04"):
        raise DatasetError(f"{name} is not an Excel workbook (.xlsx); save it from Excel as "
                           ".xlsx or as CSV.")
    wb = _open(data, name, values=True)
    try:
        names = [s.title for s in wb.worksheets]
        if sheet is not None and sheet not in names:
            raise DatasetError(f"{name} has no sheet '{sheet}'; its sheets are "
                               + ", ".join(f"'{n}'" for n in names) + ".")
        full = [s.title for s in wb.worksheets if _has_data(s)] if sheet is None else [sheet]
        if len(full) > 1:
            raise DatasetError(
                f"{name} has data on {len(full)} sheets (" + ", ".join(f"'{n}'" for n in full)
                + f"); say which to import with --sheet NAME (e.g. --sheet '{full[0]}'), or "
                "pick it on the Data page.")
        title = full[0] if full else names[0]
        frame = _read_sheet(wb[title], name)
        _check_formulas(data, name, wb[title])
    finally:
        wb.close()
    return frame, [f"read the sheet '{title}'" + (f" (of {len(names)})" if len(names) > 1
                                                  else "")]


def _read_sheet(ws, name: str) -> pd.DataFrame:
    it = ws.iter_rows(values_only=True)
    header = None
    for row in it:
        if row and any(v not in (None, "") for v in row):
            header = row
            break
    if header is None:
        raise DatasetError(f"{name} is empty (the sheet '{ws.title}' has no cells); put a header "
                           "row and data in it.")
    width = max(i + 1 for i, v in enumerate(header) if v not in (None, ""))
    cols = header_names([cell_text(v) for v in header[:width]], name)
    rows = []
    for row in it:
        cells = [cell_text(v) for v in row]
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            raise DatasetError(f"{name}: sheet row {len(rows) + 2} has values beyond the "
                               f"{width} header columns (ragged rows); add a header for them "
                               "or delete them.")
        cells = (cells + [""] * width)[:width]
        if any(c.strip() for c in cells):
            rows.append(cells)
    if not rows:
        raise DatasetError(f"{name} has a header but no data rows; add at least one row.")
    return pd.DataFrame(rows, columns=cols, dtype=object)


def _check_formulas(data: bytes, name: str, values) -> None:
    """DatasetError when formula cells of the sheet `values` (opened with saved values) have
    no saved value; the formulas come from a second, formula-reading pass over the file."""
    wb = _open(data, name, values=False)
    try:
        missing = [c for cells, vals in zip(wb[values.title].iter_rows(),
                                            values.iter_rows(values_only=True), strict=False)
                   for c, v in zip(cells, vals, strict=False)
                   if getattr(c, "data_type", None) == "f" and v is None]
    finally:
        wb.close()
    title = values.title
    if missing:
        first = missing[0]
        raise DatasetError(
            f"{name}: {len(missing)} formula cell{'s' if len(missing) != 1 else ''} of the sheet "
            f"'{title}' have no saved value (first: {first.coordinate}, {str(first.value)[:60]}); "
            "they would import as empty. Open the workbook in Excel or LibreOffice and save it "
            "again (that stores the values), or export the sheet as CSV.")
