"""Answer files as a spreadsheet writes them: opening, decoding, delimiter sniffing, .xlsx.

Every file reader of :mod:`repprofile._input` (wide answers CSV, JSON records, survey
exports) goes through here, so they all accept the same files:

* **Encodings.** UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" writes
  one), UTF-16 with a byte-order mark (Excel's "Unicode text"), or any encoding Python
  knows when it is named (``encoding="cp1252"``, ``--encoding cp1252``). A file that is
  not UTF-8 is refused with the byte offset and line of the first undecodable byte and
  the fix, never a codec traceback.
* **Delimiters.** ``,``, ``;`` (Excel in most European locales) or a tab, sniffed from
  the header row. With ``;`` or a tab a decimal comma (``3,5``) is a decimal number.
* **Workbooks.** ``.xlsx`` is read (first sheet) through the optional ``openpyxl``
  package (``pip install 'repprofile[xlsx]'``); ``.xls`` and ``.ods`` are refused with
  the advice to save them as CSV UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from repprofile._errors import InputError

__all__ = [
    "DELIMITERS",
    "Table",
    "decimal_comma_number",
    "decode",
    "open_codec",
    "parse_csv",
    "read_table",
    "read_text",
    "sniff_delimiter",
]

DELIMITERS = (",", ";", "\t")
"""The field separators a CSV answers file may use, sniffed from its header row."""

_FIX_ENCODING = (
    "save it as 'CSV UTF-8' in Excel (File > Save As > CSV UTF-8), or pass --encoding cp1252 "
    "(encoding='cp1252' in Python) if it came from Windows Excel's plain 'CSV'"
)

_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


@dataclass(frozen=True)
class Table:
    """A file's rows of text cells: the source name for messages, the delimiter (``""``
    for a workbook) and whether a decimal comma (``3,5``) is a number."""

    rows: list[list[str]]
    source: str
    delimiter: str

    @property
    def decimal_comma(self) -> bool:
        return self.delimiter in (";", "\t")


def decode(data: bytes, name: str, encoding: str | None = None) -> str:
    """``data`` as text: UTF-8 (with or without BOM) or BOM-marked UTF-16 by default,
    else ``encoding``; an :class:`InputError` saying where and how to fix it if not."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"{name}: unknown encoding {encoding!r}; expected a Python codec name such as "
                "utf-8, cp1252 or latin-1"
            ) from None
    default = encoding is None or codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    if default and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    elif default:
        codec = "utf-8-sig"
    else:
        codec = str(encoding)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        what = "UTF-8" if default else f"{encoding} text"
        raise InputError(
            f"{name}: not {what} text: byte 0x{data[exc.start]:02x} at byte offset "
            f"{exc.start} (line {line}) cannot be decoded. The file is probably in a Windows "
            f"encoding (Windows-1252); {_FIX_ENCODING}."
        ) from None


def open_codec(path: Path, encoding: str | None = None) -> str:
    """The codec to open ``path`` with for streaming: ``encoding``, else UTF-16 when the
    file starts with a UTF-16 byte-order mark, else UTF-8 (a BOM skipped)."""
    if encoding is not None:
        decode(b"", path.name, encoding)  # an unknown name is an InputError
        if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
            return encoding
    with path.open("rb") as fh:
        start = fh.read(2)
    return "utf-16" if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def read_text(path: str | Path, what: str, encoding: str | None = None) -> tuple[str, str, str]:
    """The text of a file (``-``: stdin), its name for messages and its lower-case suffix.

    Workbooks other than ``.xlsx`` are refused here with the save-as-CSV advice.
    """
    name = str(path)
    if name == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # a text stream put in place of stdin
            return sys.stdin.read(), "<stdin>", ""
        return decode(buffer.read(), "<stdin>", encoding), "<stdin>", ""
    p = Path(name)
    suffix = p.suffix.lower()
    if suffix in (".xls", ".ods"):
        kind = "an Excel 97-2003 workbook" if suffix == ".xls" else "an OpenDocument spreadsheet"
        raise InputError(
            f"{name}: {kind} ({suffix}) cannot be read; open it and save it as 'CSV UTF-8' "
            "(or as .xlsx), then read that file"
        )
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such {what}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    return decode(data, p.name, encoding), p.name, suffix


def _header_counts(text: str) -> dict[str, int]:
    """How often each delimiter occurs in the first line, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in text[:65536]:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            break
        elif ch in counts and not quoted:
            counts[ch] += 1
    return counts


def _consistent_width(text: str, delimiter: str) -> int:
    """The number of fields of the first rows split by ``delimiter`` when every
    non-blank one of them has the same number (more than one); else 0."""
    widths: set[int] = set()
    try:
        reader = csv.reader(io.StringIO(text[:65536], newline=""), delimiter=delimiter)
        for k, row in enumerate(reader):
            if k == 50:
                break
            if any(c.strip() for c in row):
                widths.add(len(row))
    except csv.Error:
        return 0
    width = widths.pop() if len(widths) == 1 else 0
    return width if width > 1 else 0


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: ``,`` ``;`` or tab.

    The one that splits the first rows into the same number of fields (more than one)
    wins, the most fields first (so commas inside the question texts of a semicolon
    file do not count); when none does (a ragged file), the one found most often in
    the header row outside quotes; ``,`` on a tie.
    """
    widths = {d: _consistent_width(text, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: widths[d])  # the first of the tied: ","
    if widths[best]:
        return best
    counts = _header_counts(text)
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def parse_csv(text: str, source: str) -> Table:
    """CSV text as rows, with its delimiter sniffed."""
    delimiter = sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{source}: not a readable CSV file ({exc})") from None
    return Table(rows, source, delimiter)


def decimal_comma_number(text: str) -> str:
    """``3,5`` as ``3.5``; any other text unchanged."""
    return text.replace(",", ".") if _DECIMAL_COMMA.match(text) else text


def _cell_text(value: Any) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, what: str) -> Table:
    """The first sheet of an .xlsx workbook (through openpyxl, the [xlsx] extra)."""
    try:
        import openpyxl
    except ImportError:
        raise InputError(
            f"{path}: reading an .xlsx workbook needs the optional package openpyxl; install "
            "repprofile[xlsx] (pip install 'repprofile[xlsx]'), or save the sheet as "
            "'CSV UTF-8' in Excel and read the CSV file"
        ) from None
    if not path.exists():
        raise InputError(f"{path}: no such {what}")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise InputError(
            f"{path}: cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc}); save "
            "it as 'CSV UTF-8' and read the CSV file"
        ) from None
    try:
        sheet = book.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    width = max(
        (max((i + 1 for i, c in enumerate(r) if c.strip()), default=0) for r in rows), default=0
    )
    return Table([(r + [""] * width)[:width] for r in rows], path.name, "")


def read_table(path: str | Path, what: str, encoding: str | None = None) -> Table:
    """A CSV file (any of the delimiters and encodings above) or an .xlsx workbook's
    first sheet, as rows of text cells."""
    if str(path) != "-" and Path(path).suffix.lower() == ".xlsx":
        return _read_xlsx(Path(path), what)
    text, source, _ = read_text(path, what, encoding)
    return parse_csv(text, source)
