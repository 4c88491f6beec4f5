"""Adding, previewing, removing and listing documents (services/documents.py, ingest/detect.py, the
manifest writer, `app.py add | remove | documents`), with the real parsers and real ingests into
temporary indexes (USE, Chroma, BM25).

The fictitious Expert Group Meeting report (tests/fixtures/egm_report_en.txt, symbol EGM/TIP/2019/1)
is added through the CLI to a copy of the two-document test corpus; the Chinese Protocol excerpt
(tests/fixtures/treaty_zh_excerpt.txt) is dropped into the corpus folder and registered in process.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import CORPUS, run_app

import settings as settings_module
from index import generations
from index.build import window_texts
from ingest.detect import NO_OVERRIDES, Overrides, detect, numbering_gaps
from ingest.manifest import load_manifest, manifest_path, with_entry, without_entry, write_atomically
from ingest.parse import parse_document
from ingest.units import RawUnit
from services import documents

EGM_FILE = "egm_report_en.txt"
EGM_KEY = "egm-tip-2019-1"
EGM_SYMBOL = "EGM/TIP/2019/1"
EGM_TITLE = (
    "Report of the Expert Group Meeting on Legal Aid for Victims of Trafficking in Persons, "
    "held in Vienna on 3 and 4 June 2019"
)
EGM_3B = (
    "(b) Establish mobile legal clinics in remote border districts, so that victims can obtain legal advice "
    "within forty-eight hours of identification;"
)
EGM_QUESTION = "What did the experts recommend about mobile legal clinics in border districts?"
ZH_FILE = "treaty_zh_excerpt.txt"
ZH_KEY = "treaty-zh-excerpt"


def tree(*folders: Path) -> dict[str, bytes]:
    """Every file under the folders, path -> bytes: what "nothing changed" is checked against."""
    return {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- detection ------------------------------------------------------------------------------------


def test_the_egm_report_is_read_as_an_english_report_with_its_symbol_and_title(fixtures_dir, manifest_docs):
    found = detect(fixtures_dir / EGM_FILE, NO_OVERRIDES, manifest_docs)
    doc = found.document
    assert (doc.key, doc.symbol, doc.language, doc.kind) == (EGM_KEY, EGM_SYMBOL, "en", "report")
    assert doc.title_en == doc.title_zh == EGM_TITLE
    assert doc.short_en == doc.short_zh == EGM_SYMBOL  # UN citations name a report by its symbol
    assert doc.aliases == (EGM_SYMBOL, EGM_KEY)
    assert [u.pinpoint for u in found.units][:5] == ["1", "2", "3", "3(a)", "3(b)"]
    assert len(found.units) == 14 and not found.problems
    assert found.warnings == ("no Chinese title given (--title-zh); the English one stands in",)


def test_the_chinese_protocol_excerpt_is_read_as_a_chinese_treaty(fixtures_dir, manifest_docs):
    found = detect(fixtures_dir / ZH_FILE, NO_OVERRIDES, manifest_docs)
    doc = found.document
    assert (doc.key, doc.language, doc.kind) == (ZH_KEY, "zh", "treaty")
    assert doc.title_zh == "贩运人口议定书（节选）"  # the bracketed note under it is not the title
    assert doc.symbol == ZH_KEY and not found.problems
    assert any(w.startswith("no UN symbol found; the key, taken from the file name,") for w in found.warnings)
    assert {"preamble", "1", "1(1)", "2(a)", "5(2)(b)"} <= {u.pinpoint for u in found.units}


@pytest.mark.parametrize("key", ["report", "tip-protocol", "som-protocol", "untoc"])
def test_each_shipped_document_is_read_as_the_kind_and_language_its_manifest_says(key, manifest_docs, corpus_dir):
    shipped = next(d for d in manifest_docs if d.key == key)
    others = [d for d in manifest_docs if d.key != key]
    found = detect(corpus_dir / shipped.file, NO_OVERRIDES, others)
    assert (found.document.kind, found.document.language) == (shipped.kind, shipped.language)
    assert not found.problems
    assert not [w for w in found.warnings if w.startswith("numbering gap")]


def test_a_symbol_beside_other_cover_matter_is_found_and_kept_out_of_the_title(tmp_path):
    path = write(tmp_path, "wg.txt", (
        "United Nations\nCTOC/COP/WG.4/2019/2   Distr.: General\n2 May 2019\n\n"
        "Report on the meeting of the Working Group on Trafficking in Persons\n"
        "1. The meeting opened.\n2. The meeting closed.\n"
    ))
    doc = detect(path, NO_OVERRIDES, []).document
    assert (doc.symbol, doc.key) == ("CTOC/COP/WG.4/2019/2", "ctoc-cop-wg-4-2019-2")
    assert doc.title_en == "Report on the meeting of the Working Group on Trafficking in Persons"


def test_a_taken_key_gets_a_number_and_overrides_win(fixtures_dir, manifest_docs):
    from dataclasses import replace

    taken = [*manifest_docs, replace(manifest_docs[0], key=EGM_KEY)]
    assert detect(fixtures_dir / EGM_FILE, NO_OVERRIDES, taken).document.key == f"{EGM_KEY}-2"
    stated = Overrides(key="legal-aid", symbol="EGM/TIP/2019/9", language="en", kind="report", title_zh="法律援助专家组会议报告")
    doc = detect(fixtures_dir / EGM_FILE, stated, manifest_docs).document
    assert (doc.key, doc.symbol, doc.title_zh, doc.short_zh) == ("legal-aid", "EGM/TIP/2019/9", "法律援助专家组会议报告", "EGM/TIP/2019/9")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (Overrides(key="report"), "is taken"),
        (Overrides(key="Legal Aid"), "lowercase"),
        (Overrides(language="fr"), "use zh or en"),
        (Overrides(kind="memo"), "use report or treaty"),
    ],
)
def test_an_override_that_cannot_stand_is_refused(overrides, message, fixtures_dir, manifest_docs):
    with pytest.raises(ValueError, match=message):
        detect(fixtures_dir / EGM_FILE, overrides, manifest_docs)


def test_a_text_both_parsers_read_is_read_as_the_one_with_more_units_and_says_so(tmp_path):
    path = write(tmp_path, "pact.txt", "Pact\nArticle 1\n1. One.\n2. Two.\nArticle 2\nThe end.\n")
    found = detect(path, NO_OVERRIDES, [])
    assert found.document.kind == "treaty" and [u.pinpoint for u in found.units] == ["1", "1(1)", "1(2)", "2"]
    assert "the numbering reads as a report (2 units) and as a treaty (4 units); read as a treaty" in found.warnings[0]


def test_numbering_problems_name_the_line_and_no_numbering_says_what_was_looked_for(tmp_path):
    gap = detect(write(tmp_path, "gap.txt", "Title\n1. One.\n2. Two.\n4. Four.\n"), NO_OVERRIDES, [])
    assert gap.problems == ("gap.txt, line 4: paragraph numbering skips: expected 3, found 4",) and not gap.units
    plain = detect(write(tmp_path, "plain.md", "Some notes\nNothing is numbered here.\n"), NO_OVERRIDES, [])
    assert plain.problems[0].startswith("plain.md: no numbering found: neither numbered paragraphs")


def test_a_lettering_gap_the_treaty_parser_lets_through_is_a_warning():
    units = [RawUnit("1", 0, 1, 1, 1, None), RawUnit("1(a)", 0, 1, 1, 2, "1"), RawUnit("1(c)", 0, 1, 1, 3, "1")]
    assert numbering_gaps(units) == ["numbering gap in 1: 1(a), 1(c)"]
    assert numbering_gaps(units[:2]) == []


# --- the manifest writer ----------------------------------------------------------------------------


def test_an_entry_appended_then_removed_leaves_the_manifest_byte_identical(fixtures_dir, manifest_docs, corpus_dir):
    path = manifest_path(corpus_dir)
    text = path.read_text(encoding="utf-8")
    doc = detect(fixtures_dir / EGM_FILE, NO_OVERRIDES, manifest_docs).document
    added = with_entry(text, doc, path)
    assert added.startswith(text) and added[len(text):].startswith("\n[[document]]\nkey = \"egm-tip-2019-1\"\n")
    assert with_entry(text, doc, path) == added
    assert without_entry(added, EGM_KEY, path) == text


def test_removing_a_middle_entry_keeps_every_other_byte_and_its_comment_goes_with_it(tmp_path):
    text = (
        "# header comment\n\n[[document]]\nkey = \"a\" # first\n\n"
        "# about b\n[[document]]\nkey = \"b\"\n\n[[document]]\nkey = \"c\"\n"
    )
    path = tmp_path / "documents.toml"
    assert without_entry(text, "b", path) == "# header comment\n\n[[document]]\nkey = \"a\" # first\n\n[[document]]\nkey = \"c\"\n"
    assert without_entry(text, "c", path) == "# header comment\n\n[[document]]\nkey = \"a\" # first\n\n# about b\n[[document]]\nkey = \"b\"\n"
    with pytest.raises(KeyError):
        without_entry(text, "d", path)


def test_a_manifest_whose_tables_the_writer_cannot_find_is_refused_not_guessed(tmp_path):
    text = 'document = [{key = "a"}, {key = "b"}]\n'
    with pytest.raises(ValueError, match="remove 'a' by hand"):
        without_entry(text, "a", tmp_path / "documents.toml")


def test_an_atomic_write_leaves_no_temporary_file_and_keeps_the_mode(tmp_path):
    path = tmp_path / "documents.toml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    write_atomically(path, "new")
    assert path.read_text(encoding="utf-8") == "new" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["documents.toml"]


# --- the service, in process --------------------------------------------------------------------------


@pytest.fixture
def corpus(subset_copy, tmp_path, monkeypatch):
    """The subset corpus and index copy, with a renderings folder of its own: (corpus_dir, index_dir)."""
    monkeypatch.setenv("PINPOINT_RENDERINGS_DIR", str(tmp_path / "renderings"))
    return subset_copy


def test_a_preview_shows_the_entry_and_the_first_units_and_writes_nothing(corpus, fixtures_dir):
    corpus_dir, index_dir = corpus
    before = tree(corpus_dir, index_dir)
    shown = documents.preview(settings_module.get_settings(), (fixtures_dir / EGM_FILE).read_bytes(), EGM_FILE)
    assert (shown.document.key, shown.units, shown.problems, shown.duplicate_of) == (EGM_KEY, 14, (), None)
    first = shown.first_units[4]
    assert (first.ref, first.label_en, first.label_zh, first.text) == (
        f"{EGM_KEY}:3(b)", "EGM/TIP/2019/1, para. 3 (b)", "EGM/TIP/2019/1，第3段(b)项", EGM_3B
    )
    assert json.loads(json.dumps(shown.to_json()))["document"]["symbol"] == EGM_SYMBOL
    gap = documents.preview(settings_module.get_settings(), b"Title\n1. One.\n3. Three.\n", "gap.txt")
    assert gap.problems and not gap.first_units
    assert tree(corpus_dir, index_dir) == before


def test_a_file_put_in_the_corpus_folder_is_named_registered_in_place_listed_and_removed(corpus, fixtures_dir):
    """The unregistered-file warning's own advice (`add data/corpus/FILE`), then `documents` and `remove`."""
    corpus_dir, index_dir = corpus
    settings = settings_module.get_settings()
    manifest_before = manifest_path(corpus_dir).read_bytes()
    dropped = corpus_dir / ZH_FILE
    shutil.copy(fixtures_dir / ZH_FILE, dropped)
    (corpus_dir / "README.md").write_text("notes about the corpus", encoding="utf-8")
    assert documents.unregistered_files(settings) == [dropped]

    added = documents.add_file(settings, dropped)
    assert (added.key, added.language, added.kind, added.file, added.units, added.added) == (
        ZH_KEY, "zh", "treaty", ZH_FILE, 34, True
    )
    assert sorted(p.name for p in corpus_dir.iterdir()) == sorted(["README.md", "documents.toml", ZH_FILE, *(
        d.file for d in load_manifest(CORPUS) if d.key in ("report", "tip-protocol"))])  # registered in place, not copied
    assert documents.unregistered_files(settings) == []
    settings.renderings_dir.mkdir()
    (settings.renderings_dir / f"{ZH_KEY}.en.jsonl").write_text("{}\n", encoding="utf-8")
    listed = {d.key: d for d in documents.list_documents(settings)}
    assert (listed[ZH_KEY].units, listed[ZH_KEY].renderings, listed["report"].renderings) == (34, ("en",), ())
    assert listed["report"].units == 60

    removed = documents.remove(settings, ZH_KEY)
    assert (removed.key, removed.units) == (ZH_KEY, 34)
    assert not dropped.exists() and manifest_path(corpus_dir).read_bytes() == manifest_before
    assert ZH_KEY not in generations.read_meta(generations.current_generation(index_dir))["documents"]
    with pytest.raises(documents.UnknownDocument, match="the documents are report, tip-protocol"):
        documents.remove(settings, ZH_KEY)


def test_an_ingest_that_fails_after_registration_takes_the_copy_and_the_entry_back(corpus, fixtures_dir):
    corpus_dir, index_dir = corpus
    before = tree(corpus_dir, index_dir)
    with generations.ingest_lock(index_dir):  # a real ingest running elsewhere: this one cannot start
        with pytest.raises(generations.IngestLocked):
            documents.add_file(settings_module.get_settings(), fixtures_dir / EGM_FILE)
    assert tree(corpus_dir, index_dir) == before


def test_a_second_add_while_one_holds_the_corpus_is_refused_but_a_file_that_is_no_document_is_told_so(
    corpus, fixtures_dir
):
    from ingest.manifest import CorpusBusy, corpus_lock

    corpus_dir, _ = corpus
    settings = settings_module.get_settings()
    with corpus_lock(corpus_dir):
        with pytest.raises(CorpusBusy, match="another add or remove is running"):
            documents.add_file(settings, fixtures_dir / EGM_FILE)
        with pytest.raises(documents.NotADocument, match="no numbering found"):
            documents.add(settings, b"Notes\nNothing numbered.\n", "notes.txt")


# --- the commands, as subprocesses ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(subset_base, make_env, tmp_path_factory, fixtures_dir):
    """A copy of the subset corpus and index, taken through refusals, `add`, lookups, a duplicate `add`,
    `remove` and `ingest` with an unregistered file: name -> CompletedProcess, plus the snapshots."""
    work = tmp_path_factory.mktemp("documents-cli")
    corpus_dir, index_dir = work / "corpus", work / "index"
    shutil.copytree(subset_base[0], corpus_dir)
    shutil.copytree(subset_base[1], index_dir)
    env = make_env(index_dir, corpus_dir)
    refused = {
        "binary": ("bad.txt", bytes(range(256)) * 8),
        "empty": ("empty.txt", b""),
        "no-numbering": ("notes.md", b"Meeting notes\nNothing here is numbered.\n"),
        "too-big": (EGM_FILE, (fixtures_dir / EGM_FILE).read_bytes()),
    }
    for name, (file, data) in refused.items():
        (work / name).mkdir()
        (work / name / file).write_bytes(data)

    def parallel(jobs: dict[str, tuple[list[str], dict]]) -> dict:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two cores
            futures = {name: pool.submit(run_app, *job) for name, job in jobs.items()}
            return {name: future.result() for name, future in futures.items()}

    snapshots = {"start": tree(corpus_dir, index_dir), "start corpus": tree(corpus_dir)}
    small = {**env, "PINPOINT_MAX_UPLOAD_BYTES": "1000"}
    runs = parallel({
        f"refuse {name}": (["add", str(work / name / file), "--json"], small if name == "too-big" else env)
        for name, (file, _) in refused.items()
    })
    snapshots["refused"] = tree(corpus_dir, index_dir)
    runs["add"] = run_app(["add", str(fixtures_dir / EGM_FILE), "--json"], env)
    runs |= parallel({
        "cite": (["cite", f"{EGM_KEY}:3(b)", "--json"], env),
        "cite by symbol": (["cite", f"{EGM_SYMBOL} para. 3 (b)", "--json"], env),
        "ask": (["ask", EGM_QUESTION, "--json"], env),
        "documents": (["documents", "--json"], env),
    })
    snapshots["added"] = tree(corpus_dir, index_dir)
    runs["add again"] = run_app(["add", str(fixtures_dir / EGM_FILE), "--json"], env)
    snapshots["added again"] = tree(corpus_dir, index_dir)
    runs["remove"] = run_app(["remove", EGM_KEY, "--json"], env)
    runs |= parallel({
        "cite removed": (["cite", f"{EGM_KEY}:3(b)"], env),
        "cite removed by symbol": (["cite", f"{EGM_SYMBOL} para. 3 (b)"], env),
        "remove unknown": (["remove", EGM_KEY], env),
    })
    snapshots["removed corpus"] = tree(corpus_dir)
    (corpus_dir / "notes.txt").write_text("1. A paragraph nobody registered.\n", encoding="utf-8")
    runs["ingest"] = run_app(["ingest"], env)
    return runs, snapshots, corpus_dir, index_dir


def ok(run) -> dict:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-2000:]}"
    return json.loads(run.stdout)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("binary", "bad.txt, line 1: the file holds NUL bytes: binary data"),
        ("empty", "empty.txt, line 1: the document has no text"),
        ("no-numbering", "notes.md: no numbering found"),
        ("too-big", f"{EGM_FILE} is 1,"),
    ],
)
def test_a_file_that_is_not_a_document_is_refused_and_nothing_changes(cli, name, message):
    runs, snapshots, _, _ = cli
    run = runs[f"refuse {name}"]
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(f"error: {message}"), run.stderr
    assert snapshots["refused"] == snapshots["start"]  # corpus folder, manifest and index byte for byte


def test_add_prints_the_json_contract_and_embeds_only_the_new_document(cli, subset_base, fixtures_dir):
    runs, snapshots, _, _ = cli
    result = ok(runs["add"])
    assert {k: result[k] for k in ("key", "symbol", "language", "kind", "units")} == {
        "key": EGM_KEY, "symbol": EGM_SYMBOL, "language": "en", "kind": "report", "units": 14
    }
    assert result["warnings"] == ["no Chinese title given (--title-zh); the English one stands in"]
    assert (result["added"], result["file"]) == (True, EGM_FILE)
    copied = [data for path, data in snapshots["added"].items() if path.endswith(f"/corpus/{EGM_FILE}")]
    assert copied == [(fixtures_dir / EGM_FILE).read_bytes()]
    doc = detect(fixtures_dir / EGM_FILE, NO_OVERRIDES, load_manifest(subset_base[0])).document  # the entry add wrote
    units = parse_document(doc, fixtures_dir, [doc])
    windows = window_texts(units, {doc.key: doc.short_en}, settings_module.get_settings().embed_window_tokens)
    base = subset_base[2]
    assert result["embedded"] == len(windows) and result["reused"] == base.embedded + base.reused


def test_the_added_report_is_cited_verbatim_by_key_and_by_symbol_and_answers_its_question(cli):
    runs, _, _, _ = cli
    record = ok(runs["cite"])
    assert (record["ref"], record["text"]) == (f"{EGM_KEY}:3(b)", EGM_3B)
    assert record["labels"] == {"en": "EGM/TIP/2019/1, para. 3 (b)", "zh": "EGM/TIP/2019/1，第3段(b)项"}
    assert ok(runs["cite by symbol"])["ref"] == f"{EGM_KEY}:3(b)"
    retrieved = [r["ref"] for r in ok(runs["ask"])["retrieved"][:3]]
    assert f"{EGM_KEY}:3(b)" in retrieved


def test_documents_lists_each_document_with_its_units(cli):
    runs, _, _, _ = cli
    listed = {d["key"]: d for d in ok(runs["documents"])}
    assert list(listed) == ["report", "tip-protocol", EGM_KEY]
    assert listed[EGM_KEY] == {
        "key": EGM_KEY, "symbol": EGM_SYMBOL, "language": "en", "kind": "report", "file": EGM_FILE,
        "title_en": EGM_TITLE, "title_zh": EGM_TITLE, "units": 14, "renderings": [],
    }
    assert (listed["report"]["units"], listed["tip-protocol"]["units"]) == (60, 98)


def test_adding_the_same_file_again_reports_the_key_that_has_it_and_changes_nothing(cli):
    runs, snapshots, _, _ = cli
    result = ok(runs["add again"])
    assert (result["key"], result["added"], result["units"]) == (EGM_KEY, False, 14)
    assert snapshots["added again"] == snapshots["added"]


def test_remove_takes_the_document_out_of_the_corpus_and_lookup(cli):
    runs, snapshots, _, _ = cli
    result = ok(runs["remove"])
    assert (result["key"], result["file"], result["units"]) == (EGM_KEY, EGM_FILE, 14)
    assert snapshots["removed corpus"] == snapshots["start corpus"]  # the copy and the entry gone, the manifest as it was
    cite = runs["cite removed"]
    assert cite.returncode == 2 and f"no unit '{EGM_KEY}:3(b)'" in cite.stderr
    by_symbol = runs["cite removed by symbol"]  # not a phrase search landing on another document's para. 3
    assert by_symbol.returncode == 2 and f"no unit '{EGM_SYMBOL} para. 3 (b)'" in by_symbol.stderr
    unknown = runs["remove unknown"]
    assert unknown.returncode == 2 and "the documents are report, tip-protocol" in unknown.stderr


def test_ingest_names_a_file_no_entry_covers_and_how_to_register_it(cli):
    runs, _, corpus_dir, _ = cli
    run = runs["ingest"]
    assert run.returncode == 0, run.stderr
    notes = corpus_dir / "notes.txt"
    assert (f"warning: {notes} is not in documents.toml, so it is not indexed; "
            f"register it with: python app.py add {notes}") in run.stderr
