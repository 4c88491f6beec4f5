"""The committed evaluation reports name no folder of the machine they ran on (issue 17 §4)."""

from __future__ import annotations

import re
from pathlib import Path

from eval.report import shown_path
from settings import ROOT

MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|root|home|Users|var|opt|check)/|[A-Za-z]:\\\\")


def test_shown_path_is_relative_to_the_project_else_the_file_name(tmp_path):
    assert shown_path(ROOT / "eval" / "sets" / "questions.jsonl") == str(Path("eval", "sets", "questions.jsonl"))
    assert shown_path(tmp_path / "scale" / "corpus") == "corpus"


def test_no_committed_report_names_a_machine_folder():
    reports = sorted((ROOT / "eval" / "reports").glob("*.[jm][sd]*"))
    assert reports, "no reports found"
    named = {p.name: MACHINE_PATH.findall(p.read_text(encoding="utf-8")) for p in reports}
    assert not {name: found for name, found in named.items() if found}
