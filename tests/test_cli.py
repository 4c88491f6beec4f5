"""The command line contract, run as real subprocesses (`python app.py ...`) against temporary indexes.

Every process gets PINPOINT_INDEX_DIR pointing at a temporary index, never at data/index. The
processes are independent, so the module starts them all at once and each test checks one of them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from answer_support import is_quoted, retrieved_json
from conftest import run_app

ASK_KEYS = {"question", "language", "answer", "answerable", "citations", "retrieved"}
CITE_KEYS = {"ref", "text", "labels", "lead_in", "language", "links", "translations"}
BATCH = [
    {"id": "q1", "question": "Who chaired the meeting?"},
    {"id": "q2", "question": ""},
    {"id": "q3", "question": "受害人能否获得免费法律代理？"},
]


@pytest.fixture(scope="module")
def cli(session_index, subset_base, make_env, tmp_path_factory):
    """All CLI runs of this module, started in parallel: name -> (CompletedProcess, context)."""
    index_dir = session_index[0]
    work = tmp_path_factory.mktemp("cli")
    batch_file = work / "questions.jsonl"
    batch_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in BATCH), encoding="utf-8")
    bad_batch = work / "bad.jsonl"
    bad_batch.write_text('not json\n[1, 2]\n{"id": "ok", "question": "Who chaired the meeting?"}\n', encoding="utf-8")
    empty_index = work / "no-index"
    empty_index.mkdir()
    ingest_corpus = work / "ingest-corpus"
    ingest_index = work / "ingest-index"
    shutil.copytree(subset_base[0], ingest_corpus)
    shutil.copytree(subset_base[1], ingest_index)
    ingest_before = (ingest_index / "CURRENT").read_text(encoding="utf-8")

    jobs = {
        "ask": (["ask", "Where should victims be housed?", "--json"], make_env(index_dir)),
        "batch": (["ask", "--batch", str(batch_file), "--json"], make_env(index_dir)),
        "batch_bad": (["ask", "--batch", str(bad_batch), "--json"], make_env(index_dir)),
        "cite": (["cite", "7(c)", "--json"], make_env(index_dir)),
        "cite_zh": (["cite", "art. 6(3)(d)", "--json"], make_env(index_dir)),
        "cite_text": (["cite", "7(c)"], make_env(index_dir)),
        "cite_unknown": (["cite", "99(z)"], make_env(index_dir)),
        "no_index": (["ask", "Who chaired the meeting?", "--json"], make_env(empty_index)),
        "ingest": (["ingest"], make_env(ingest_index, ingest_corpus)),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(run_app, *job) for name, job in jobs.items()}
        runs = {name: future.result() for name, future in futures.items()}
    context = {
        "index": index_dir, "empty_index": empty_index, "ingest_index": ingest_index,
        "ingest_before": ingest_before, "subset_report": subset_base[2],
    }
    return runs, context


def ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-2000:]}"
    return run


def test_ask_json_prints_one_object_with_the_contract(cli, session_engine):
    run = ok(cli[0]["ask"])
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert ASK_KEYS <= set(result)
    assert result["question"] == "Where should victims be housed?"
    assert result["language"] == "en"
    assert result["answerable"] is True
    refs = [r["ref"] for r in result["retrieved"]]
    assert len(refs) >= 10 and len(set(refs)) == len(refs)
    assert {"tip-protocol:6(3)(a)", "report:7(c)"} & set(refs[:5])
    assert result["citations"] and result["notice"] is None and result["closest"] == []
    for citation in result["citations"]:
        assert citation["quote"] == session_engine.index.by_ref[citation["ref"]].text
        assert is_quoted(citation["quote"], result["answer"])
    # the subprocess answers exactly as the in-process engine over the same index
    assert refs == session_engine.retrieve("Where should victims be housed?").refs


def test_ask_batch_prints_one_json_line_per_question_with_ids(cli):
    run = ok(cli[0]["batch"])
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3"]
    first, empty, chinese = lines
    assert ASK_KEYS <= set(first) and "error" not in first
    assert "report:16" in [r["ref"] for r in first["retrieved"][:5]]
    assert "error" in empty and "empty" in empty["error"] and empty["line"] == 2
    assert "answer" not in empty
    assert ASK_KEYS <= set(chinese) and chinese["language"] == "zh"
    assert "report:8(j)" in [r["ref"] for r in chinese["retrieved"][:3]]


def test_cite_json_has_ref_text_labels_lead_in_links(cli, session_engine):
    run = ok(cli[0]["cite"])
    record = json.loads(run.stdout)
    assert set(record) == CITE_KEYS
    assert record["ref"] == "report:7(c)"
    assert record["text"].startswith("(c) 毫不拖延地将受害人安置在安全的收容所")
    assert record["labels"] == {"en": "CTOC/COP/WG.4/2017/4, para. 7 (c)", "zh": "CTOC/COP/WG.4/2017/4，第7段(c)项"}
    assert record["lead_in"] == "7. 工作组建议缔约方会议审议是否采纳以下建议："
    assert isinstance(record["links"], list)
    assert record["language"] == "zh"
    assert record == session_engine.cite("7(c)").to_json()  # the subprocess cites as the in-process engine


@pytest.mark.parametrize(
    ("job", "ref", "language", "lang", "start"),
    [
        ("cite", "report:7(c)", "zh", "en", "(c) Place victims without delay in safe shelters"),
        ("cite_zh", "tip-protocol:6(3)(d)", "en", "zh", "(d) 就业、教育和培训机会"),
    ],
)
def test_cite_json_carries_the_unofficial_translation(cli, session_engine, job, ref, language, lang, start):
    record = json.loads(ok(cli[0][job]).stdout)
    assert set(record) == CITE_KEYS and record["ref"] == ref and record["language"] == language
    [translation] = record["translations"]
    rendering = session_engine.index.renderings[ref]
    assert translation == {"lang": lang, "text": rendering.text, "official": False, "source": rendering.provenance}
    assert translation["text"].startswith(start)
    assert record["text"] == session_engine.index.by_ref[ref].text != translation["text"]


def test_cite_text_shows_the_translation_below_the_verbatim_text_labelled_unofficial(cli, session_engine):
    out = ok(cli[0]["cite_text"]).stdout
    official = session_engine.index.by_ref["report:7(c)"].text
    rendering = session_engine.index.renderings["report:7(c)"].text
    label = "Unofficial translation / 非官方译文 (en):\n"
    assert out.startswith("CTOC/COP/WG.4/2017/4, para. 7 (c)\nCTOC/COP/WG.4/2017/4，第7段(c)项\n")
    assert f"{label}{rendering}\n" in out
    assert out.index(official) < out.index(label)


def test_cite_unknown_reference_exits_2_and_names_the_nearest_refs(cli):
    run = cli[0]["cite_unknown"]
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    assert "99(z)" in run.stderr and "nearest:" in run.stderr
    nearest = re.search(r"nearest: (.+)", run.stderr).group(1).split(", ")
    assert nearest and all(re.fullmatch(r"report:\d+(\([a-z]\))?", ref.strip()) for ref in nearest)
    assert "report:32" in [ref.strip() for ref in nearest]
    assert "Traceback" not in run.stderr


def test_ask_without_an_index_exits_3_and_says_to_run_ingest(cli):
    run = cli[0]["no_index"]
    assert run.returncode == 3, run.stderr
    assert run.stdout == ""
    assert "python app.py ingest" in run.stderr
    assert str(cli[1]["empty_index"]) in run.stderr
    assert "Traceback" not in run.stderr
    assert list(cli[1]["empty_index"].iterdir()) == []  # asking never creates an index


def test_ingest_on_a_temporary_corpus_prints_the_summary_line(cli):
    run = ok(cli[0]["ingest"])
    index_dir = cli[1]["ingest_index"]
    summary = run.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"index (gen-[\w-]+): 158 units \(report 60, tip-protocol 98\); "
        r"(\d+) windows embedded, (\d+) reused; \d+\.\d s",
        summary,
    )
    assert match, summary
    generation, embedded, reused = match.group(1), int(match.group(2)), int(match.group(3))
    assert embedded == 0  # the copied index already holds every vector
    assert reused == cli[1]["subset_report"].embedded
    current = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    assert current == generation != cli[1]["ingest_before"].strip()
    assert (index_dir / generation / "meta.json").exists()


def test_a_fresh_process_scores_a_chinese_question_as_the_ingesting_process_does(cli, session_engine):
    """Same tokens, same ranking: a process that only loads the index teaches jieba the index's words.

    Scores are compared to 1e-3 (and a near-tie may swap at the cut): float sums in the embedders differ in the fourth decimal between
    processes, which is not what this test is about (without the user words they differ by ~0.02).
    """
    chinese = [json.loads(line) for line in ok(cli[0]["batch"]).stdout.splitlines() if line.strip()][2]
    expected = retrieved_json(session_engine.retrieve(BATCH[2]["question"]))
    got = {r["ref"]: r["score"] for r in chinese["retrieved"]}
    want = {r["ref"]: r["score"] for r in expected}
    assert chinese["retrieved"][0]["ref"] == expected[0]["ref"]
    assert len(got.keys() & want.keys()) >= len(want) - 1  # a near-tie at the cut may swap one ref
    assert all(abs(got[ref] - want[ref]) < 1e-3 for ref in got.keys() & want.keys())



def test_batch_reports_bad_lines_and_goes_on(cli):
    """A line that is not JSON, or not an object, gets an error naming it; the other lines are answered."""
    lines = [json.loads(x) for x in ok(cli[0]["batch_bad"]).stdout.splitlines() if x.strip()]
    assert [x.get("line") for x in lines[:2]] == [1, 2] and all("error" in x for x in lines[:2])
    assert lines[2]["id"] == "ok" and lines[2]["retrieved"]
