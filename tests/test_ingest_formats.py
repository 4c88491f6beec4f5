"""Every file format ends as the same text and the same units; unreadable files fail clearly.

The .docx is built with python-docx and the .pdf with a tiny PDF writer below (Helvetica,
one text object per line), both from tests/fixtures/report_en_excerpt.txt with UN page
furniture (symbol line, "5/6 V.17-06892" job-number line, bare page number) mixed in.
"""

from __future__ import annotations

import textwrap

import pytest

from ingest.readers import blocks, read_text
from ingest.un_paragraphs import parse_report
from ingest.units import IngestError

FIXTURE = "report_en_excerpt.txt"
FURNITURE = ["CTOC/COP/WG.4/2017/4", "5/6 V.17-06892", "V.17-06892 2/6", "3"]


# --- helpers -----------------------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF 1.4 with one Helvetica text line per entry (ASCII only)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        ops = [f"BT /F1 9 Tf 40 {800 - 12 * k} Td ({esc(line)}) Tj ET" for k, line in enumerate(lines)]
        stream = "\n".join(ops).encode("latin-1") if ops else b"0 0 m 100 100 l S"  # no text: a line drawing
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def squash(text: str) -> str:
    return " ".join(text.split())


def units_of(text: str, name: str):
    return parse_report(blocks(text), name)[1]


@pytest.fixture(scope="module")
def fixture_lines(fixtures_dir) -> list[str]:
    return (fixtures_dir / FIXTURE).read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def txt_units(fixtures_dir):
    text = read_text(fixtures_dir / FIXTURE)
    return {u.pinpoint: text[u.start : u.end] for u in units_of(text, FIXTURE)}


def assert_same_units(text: str, name: str, txt_units: dict[str, str], exact: bool) -> None:
    units = units_of(text, name)
    got = {u.pinpoint: text[u.start : u.end] for u in units}
    assert [u.pinpoint for u in units] == list(txt_units)
    for pin, body in txt_units.items():
        if exact:
            assert got[pin] == body, pin
        else:
            assert squash(got[pin]) == squash(body), pin


def assert_no_furniture(text: str) -> None:
    lines = [line.strip() for line in text.split("\n")]
    for furniture in FURNITURE:
        assert furniture not in lines
    assert "V.17-06892" not in text


# --- .docx ---------------------------------------------------------------------------------


def test_docx_gives_the_same_units_as_txt(tmp_path, fixture_lines, txt_units):
    import docx

    document = docx.Document()
    for _i, line in enumerate(fixture_lines):
        document.add_paragraph(line)
        if line.startswith("(a) Where possible"):  # a page break's furniture inside para. 3
            for furniture in FURNITURE:
                document.add_paragraph(furniture)
    path = tmp_path / "report.docx"
    document.save(str(path))
    text = read_text(path)
    assert_no_furniture(text)
    assert_same_units(text, path.name, txt_units, exact=True)


# --- .pdf ----------------------------------------------------------------------------------


def pdf_pages(fixture_lines: list[str]) -> list[list[str]]:
    """Wrap each block like a PDF does and break the pages inside para. 3 and para. 5."""
    pages: list[list[str]] = [[]]
    for line in fixture_lines:
        if not line.strip():
            continue
        if line.startswith(("(b) Where possible", "Many speakers")):
            pages[-1].append("5/6 V.17-06892")
            pages.append(["CTOC/COP/WG.4/2017/4"])
        pages[-1].extend(textwrap.wrap(line, 70))
    pages[-1].append("V.17-06892 6/6")
    return pages


def test_pdf_gives_the_same_units_as_txt(tmp_path, fixture_lines, txt_units):
    pages = pdf_pages(fixture_lines)
    assert len(pages) == 3 and sum(len(p) for p in pages) > len([x for x in fixture_lines if x.strip()]) + 10
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(pages))
    text = read_text(path)
    assert_no_furniture(text)
    assert_same_units(text, path.name, txt_units, exact=False)
    units = {u.pinpoint: text[u.start : u.end] for u in units_of(text, path.name)}
    # wrapped lines are joined back into one block per sub-item / lead-in
    assert "\n" not in units["3(b)"]
    assert units["3(b)"].startswith("(b) Where possible, and in line with article 6, paragraph 3 (d), of the")
    assert units["7"].split("\n")[:2] == [
        "7. At its 1st meeting, on 6 September 2017, the Working Group adopted by consensus the following agenda:",
        "1. Organizational matters:",
    ]


def test_pdf_without_text_layer_is_an_error(tmp_path):
    path = tmp_path / "scanned.pdf"
    path.write_bytes(make_pdf([[], []]))
    with pytest.raises(IngestError) as err:
        read_text(path)
    assert "scanned.pdf" in str(err.value) and "no text" in str(err.value)


def test_pdf_with_only_furniture_is_an_error(tmp_path):
    path = tmp_path / "covers.pdf"
    path.write_bytes(make_pdf([["CTOC/COP/WG.4/2017/4", "5/6 V.17-06892"]]))
    with pytest.raises(IngestError, match="covers.pdf"):
        read_text(path)


def test_broken_pdf_and_docx_are_errors(tmp_path):
    for name in ("broken.pdf", "broken.docx"):
        path = tmp_path / name
        path.write_bytes(b"this is not what the suffix says\n" * 20)
        with pytest.raises(IngestError) as err:
            read_text(path)
        assert name in str(err.value)


# --- .txt / .md variants -------------------------------------------------------------------


def test_md_crlf_and_bom_read_like_txt(tmp_path, fixtures_dir, txt_units):
    raw = (fixtures_dir / FIXTURE).read_text(encoding="utf-8")
    path = tmp_path / "report.md"
    path.write_bytes(b"\xef\xbb\xbf" + raw.replace("\n", "\r\n").encode("utf-8"))
    text = read_text(path)
    assert "\r" not in text and not text.startswith("\ufeff")
    assert_same_units(text, path.name, txt_units, exact=True)


def test_txt_furniture_lines_are_dropped(tmp_path, fixture_lines, txt_units):
    lines = list(fixture_lines)
    at = lines.index(next(x for x in lines if x.startswith("(b) Where possible")))
    lines[at:at] = ["  CTOC/COP/WG.4/2017/4  ", "5/6 V.17-06892", "- 5 -"]
    path = tmp_path / "report.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    text = read_text(path)
    assert_no_furniture(text)
    assert_same_units(text, path.name, txt_units, exact=True)


def test_shipped_chinese_report_reads_unchanged(corpus_dir):
    path = corpus_dir / "report_CTOC-COP-WG.4-2017-4_zh.txt"
    assert read_text(path) == path.read_text(encoding="utf-8")


# --- bad files -----------------------------------------------------------------------------


def test_empty_and_blank_files_are_errors(tmp_path):
    for name, data in (("empty.txt", b""), ("blank.txt", b"\n  \n\t\n"), ("bom_only.md", b"\xef\xbb\xbf")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(IngestError) as err:
            read_text(path)
        assert name in str(err.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_errors(tmp_path, fixtures_dir, encoding):
    """With a BOM (Notepad's "Unicode") or without one: never silently read as text with NULs."""
    path = tmp_path / "report16.txt"
    path.write_bytes((fixtures_dir / FIXTURE).read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(IngestError) as err:
        read_text(path)
    assert "report16.txt" in str(err.value) and "UTF-16" in str(err.value)


def test_gbk_file_is_an_error(tmp_path, corpus_dir):
    path = tmp_path / "report_gbk.txt"
    text = (corpus_dir / "report_CTOC-COP-WG.4-2017-4_zh.txt").read_text(encoding="utf-8")
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(IngestError) as err:
        read_text(path)
    assert "report_gbk.txt" in str(err.value) and "UTF-8" in str(err.value)
    assert err.value.line == 1  # the title line already holds non-UTF-8 bytes


def test_gbk_error_names_the_first_bad_line(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"Title\n1. ascii only.\n2. " + "贩运人口".encode("gbk") + b"\n")
    with pytest.raises(IngestError) as err:
        read_text(path)
    assert err.value.line == 3


def test_unsupported_suffix_is_an_error(tmp_path):
    path = tmp_path / "report.rtf"
    path.write_text("{\\rtf1 1. text}", encoding="utf-8")
    with pytest.raises(IngestError, match=r"report\.rtf.*unsupported"):
        read_text(path)
