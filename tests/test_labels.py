"""Citation labels in UN style, and cross-references between documents."""

from __future__ import annotations

import pytest
from conftest import copy_corpus, settings_for

from ingest.crossrefs import find_links, resolve_alias
from ingest.labels import label_en, label_zh, labels_of_many, split_pinpoint


@pytest.fixture(scope="module")
def docs(manifest_docs):
    return {d.key: d for d in manifest_docs}


@pytest.fixture(scope="module")
def existing(corpus_units) -> set[str]:
    return {u.ref for units in corpus_units.values() for u in units}


LABELS = [
    ("report", "7(c)", "CTOC/COP/WG.4/2017/4, para. 7 (c)", "CTOC/COP/WG.4/2017/4，第7段(c)项"),
    ("report", "24", "CTOC/COP/WG.4/2017/4, para. 24", "CTOC/COP/WG.4/2017/4，第24段"),
    ("tip-protocol", "6(3)(d)", "Trafficking in Persons Protocol, art. 6, para. 3 (d)", "《贩运人口议定书》第6条第3款(d)项"),
    ("tip-protocol", "6(3)", "Trafficking in Persons Protocol, art. 6, para. 3", "《贩运人口议定书》第6条第3款"),
    ("tip-protocol", "3(a)", "Trafficking in Persons Protocol, art. 3 (a)", "《贩运人口议定书》第3条(a)项"),
    ("tip-protocol", "12", "Trafficking in Persons Protocol, art. 12", "《贩运人口议定书》第12条"),
    ("tip-protocol", "preamble", "Trafficking in Persons Protocol, preamble", "《贩运人口议定书》序言"),
    ("untoc", "5(1)(a)(ii)", "Organized Crime Convention, art. 5, para. 1 (a) (ii)", "《有组织犯罪公约》第5条第1款(a)项第(ii)目"),
    ("som-protocol", "3(c)(i)", "Smuggling of Migrants Protocol, art. 3 (c) (i)", "《偷运移民议定书》第3条(c)项第(i)目"),
]


@pytest.mark.parametrize(("key", "pin", "en", "zh"), LABELS)
def test_labels(docs, key, pin, en, zh):
    assert label_en(docs[key], pin) == en
    assert label_zh(docs[key], pin) == zh


@pytest.mark.parametrize(("key", "pin", "en", "zh"), LABELS)
def test_parsed_units_carry_the_derived_labels(corpus_units, key, pin, en, zh):
    unit = next(u for u in corpus_units[key] if u.pinpoint == pin)
    assert (unit.label_en, unit.label_zh) == (en, zh)


def test_every_label_is_derived_from_its_ref(corpus_units, docs):
    for key, units in corpus_units.items():
        for unit in units:
            assert unit.label_en == label_en(docs[key], unit.pinpoint)
            assert unit.label_zh == label_zh(docs[key], unit.pinpoint)
            assert unit.label_en.startswith(docs[key].short_en + ", ")


JOINT = [
    ([("report", "7(c)"), ("report", "7(d)"), ("report", "7(e)")],
     "CTOC/COP/WG.4/2017/4, para. 7 (c)–(e)", "CTOC/COP/WG.4/2017/4，第7段(c)至(e)项"),
    ([("report", "7(c)"), ("report", "8(d)")],
     "CTOC/COP/WG.4/2017/4, paras. 7 (c) and 8 (d)", "CTOC/COP/WG.4/2017/4，第7段(c)项和第8段(d)项"),
    ([("report", "7"), ("report", "8"), ("report", "9")], "CTOC/COP/WG.4/2017/4, paras. 7–9", "CTOC/COP/WG.4/2017/4，第7至9段"),
    ([("report", "25"), ("report", "26")], "CTOC/COP/WG.4/2017/4, paras. 25 and 26", "CTOC/COP/WG.4/2017/4，第25段和第26段"),
    ([("tip-protocol", "6(3)"), ("tip-protocol", "6(4)")],
     "Trafficking in Persons Protocol, art. 6, paras. 3 and 4", "《贩运人口议定书》第6条第3款和第4款"),
    ([("tip-protocol", "5"), ("tip-protocol", "6"), ("tip-protocol", "7")],
     "Trafficking in Persons Protocol, arts. 5–7", "《贩运人口议定书》第5至7条"),
    ([("tip-protocol", "5"), ("tip-protocol", "7")],
     "Trafficking in Persons Protocol, arts. 5 and 7", "《贩运人口议定书》第5条和第7条"),
    ([("tip-protocol", f"6(3)({c})") for c in "abcd"],
     "Trafficking in Persons Protocol, art. 6, para. 3 (a)–(d)", "《贩运人口议定书》第6条第3款(a)至(d)项"),
    ([("tip-protocol", "3(a)"), ("tip-protocol", "3(c)")],
     "Trafficking in Persons Protocol, art. 3 (a) and (c)", "《贩运人口议定书》第3条(a)项和(c)项"),
    ([("untoc", "5(1)(a)(i)"), ("untoc", "5(1)(a)(ii)")],
     "Organized Crime Convention, art. 5, para. 1 (a) (i) and (ii)", "《有组织犯罪公约》第5条第1款(a)项第(i)目和第(ii)目"),
    # not members of one provision: each by its own label, the document named once
    ([("tip-protocol", "6(3)"), ("tip-protocol", "7(1)")],
     "Trafficking in Persons Protocol, art. 6, para. 3 and art. 7, para. 1", "《贩运人口议定书》第6条第3款和第7条第1款"),
    # the order named is kept: 8 (d) before 7 (c) is no range
    ([("report", "8(d)"), ("report", "7(c)")],
     "CTOC/COP/WG.4/2017/4, paras. 8 (d) and 7 (c)", "CTOC/COP/WG.4/2017/4，第8段(d)项和第7段(c)项"),
    ([("report", "7(d)"), ("tip-protocol", "6(3)(d)")],
     "CTOC/COP/WG.4/2017/4, para. 7 (d); Trafficking in Persons Protocol, art. 6, para. 3 (d)",
     "CTOC/COP/WG.4/2017/4，第7段(d)项；《贩运人口议定书》第6条第3款(d)项"),
]


@pytest.mark.parametrize(("units", "en", "zh"), JOINT)
def test_units_named_together_are_cited_together(docs, units, en, zh):
    assert labels_of_many([(docs[key], pin) for key, pin in units]) == (en, zh)


def test_split_pinpoint():
    assert split_pinpoint("6(3)(d)") == ("6", ["3", "d"])
    assert split_pinpoint("5(1)(a)(ii)") == ("5", ["1", "a", "ii"])
    assert split_pinpoint("24") == ("24", [])
    assert split_pinpoint("8(aa)") == ("8", ["aa"])
    assert split_pinpoint("preamble") == ("preamble", [])


# --- cross-references ----------------------------------------------------------------------


def test_article_of_the_convention_inside_the_protocol_resolves_to_untoc(docs, existing):
    text = "in accordance with article 27 of the Convention, strengthen border controls"
    assert find_links(text, docs["tip-protocol"], "11", list(docs.values()), existing) == ["untoc:27"]


def test_paragraph_of_this_article_resolves_within_the_article(docs, existing):
    text = "attempting to commit an offence established in accordance with paragraph 1 of this article;"
    assert find_links(text, docs["tip-protocol"], "5", list(docs.values()), existing) == ["tip-protocol:5(1)"]


def test_chinese_numerals_in_a_reference_are_linked_like_digits(docs, existing):
    all_docs = list(docs.values())
    assert find_links("《议定书》第六条第三款(d)项", docs["report"], None, all_docs, existing) == ["tip-protocol:6(3)(d)"]
    assert find_links("依照《公约》第二十七条", docs["tip-protocol"], "11", all_docs, existing) == ["untoc:27"]


def test_mentions_of_non_existent_articles_yield_no_link(docs, existing):
    all_docs = list(docs.values())
    assert find_links("article 99 of this Protocol", docs["tip-protocol"], "1", all_docs, existing) == []
    assert find_links("article 50 of the Convention", docs["tip-protocol"], "1", all_docs, existing) == []
    assert find_links("《议定书》第 60 条", docs["report"], None, all_docs, existing) == []


def test_missing_level_backs_off_to_the_existing_unit(docs, existing):
    # article 4 of the Protocol has no paragraphs: "article 4, paragraph 1" means article 4
    assert find_links("article 4, paragraph 1, of this Protocol", docs["tip-protocol"], "1",
                      list(docs.values()), existing) == ["tip-protocol:4"]


def test_chinese_reference_from_the_report(docs, existing):
    text = "依据国内法并按照《议定书》第 6 条第 3 款(d)项考虑"
    assert find_links(text, docs["report"], None, list(docs.values()), existing) == ["tip-protocol:6(3)(d)"]
    # without a named instrument a report mention is not a link
    assert find_links("第 6 条第 3 款", docs["report"], None, list(docs.values()), existing) == []
    assert find_links("article 6", docs["report"], None, list(docs.values()), existing) == []


def test_un_style_comma_before_of(docs, existing):
    text = "under article 6, paragraph 3 (d), of the Trafficking in Persons Protocol and articles 27 and 28 of the Convention"
    links = find_links(text, docs["report"], None, list(docs.values()), existing)
    assert links == ["tip-protocol:6(3)(d)", "untoc:27", "untoc:28"]


def test_bare_article_in_a_treaty_means_the_treaty_itself(docs, existing):
    assert find_links("set forth in article 3", docs["som-protocol"], "6", list(docs.values()), existing) == ["som-protocol:3"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("the Convention", "untoc"),
        ("United Nations Convention against Transnational Organized Crime", "untoc"),
        ("the Trafficking in Persons Protocol", "tip-protocol"),
        ("议定书", "tip-protocol"),
        ("偷运移民议定书", "som-protocol"),  # the longest alias wins over 议定书
        ("the Smuggling of Migrants Protocol", "som-protocol"),
        ("公约", "untoc"),
    ],
)
def test_resolve_alias(docs, name, key):
    assert resolve_alias(name, list(docs.values())) == key


def test_resolve_alias_unknown(docs):
    assert resolve_alias("Geneva Accord", list(docs.values())) is None


def test_a_unit_never_links_to_itself_or_its_own_article(corpus_units):
    for key, units in corpus_units.items():
        for unit in units:
            for link in unit.links:
                target = link.split(":", 1)[1]
                if link.startswith(key + ":"):
                    assert not (unit.pinpoint == target or unit.pinpoint.startswith(target + "(")), (unit.ref, link)


def test_every_link_is_followable(corpus_units, existing):
    links = [link for units in corpus_units.values() for u in units for link in u.links]
    assert links, "the corpus has cross-references"
    assert set(links) <= existing


def test_a_second_parse_links_only_to_provisions_that_still_exist(tmp_path):
    """Parsing the corpus again in the same process (the UI adding a document, eval.scale, tests) reads
    the documents as they are now: a provision deleted in between is no link target any more."""
    from index.build import parse_corpus

    corpus = copy_corpus(tmp_path / "corpus", ("report", "tip-protocol"))
    settings = settings_for(tmp_path / "index", corpus, tmp_path / "cache")

    def links_of(units) -> dict[str, tuple[str, ...]]:
        return {u.ref: u.links for u in units if u.doc == "report"}

    before = links_of(parse_corpus(settings)[1])
    citing = next(ref for ref, links in before.items() if "tip-protocol:6(3)(d)" in links)
    treaty = corpus / "tip_protocol_en.txt"
    treaty.write_text(treaty.read_text(encoding="utf-8").replace("d) Employment, educational and training opportunities.\n", ""),
                      encoding="utf-8")
    after = links_of(parse_corpus(settings)[1])
    assert not any("tip-protocol:6(3)(d)" in links for links in after.values())
    assert "tip-protocol:6(3)" in after[citing]  # the mention now links to what is left of it
