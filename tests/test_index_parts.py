"""Unit tests of the index's parts that need no built index: tokens, lexicon, routing, windows, cache."""

from __future__ import annotations

import numpy as np
import pytest

from index.embed_cache import EmbeddingCache
from index.lexicon import Lexicon, build_lexicon, read_glossary
from index.routing import Router
from index.text_norm import language_of, normalize, stem, tokenize
from index.windows import windows
from ingest.units import own_texts
from services.scope import known_instrument, out_of_scope, years_in
from settings import ROOT


def test_tokens_fold_traditional_fullwidth_and_inflection():
    assert normalize("議定書（ＡＢ）") == "议定书(ab)"
    assert set(tokenize("議定書")) == set(tokenize("议定书"))
    assert "victim" in tokenize("Victims")
    assert stem(["temporarily"]) == stem(["temporary"])  # adverb folded into its adjective


@pytest.mark.parametrize(("text", "lang"), [("受害人能否获得免费法律代理？", "zh"), ("What does 7(c) say?", "en"),
                                            ("議定書 article 6 規定", "zh")])
def test_language_of(text, lang):
    assert language_of(text) == lang


@pytest.fixture(scope="module")
def lexicon():
    glossary = read_glossary(ROOT / "data" / "glossary.tsv")
    vocab = set(tokenize("shelter housing victim interpret employment education 收容所 口译 受害人 就业 教育 免费 法律 代理"))
    return build_lexicon(glossary, vocab)


def test_lexicon_translates_both_ways_into_index_vocabulary(lexicon):
    assert "收容所" in lexicon.translate("safe house for victims") or "收容所" in lexicon.translate("shelters")
    assert "interpret" in lexicon.translate("口译")
    assert "口译" in lexicon.translate("interpreters")  # glossary phrases match on stems
    assert all(t in set(tokenize("shelter housing victim interpret employment education 收容所 口译 受害人 就业 教育 免费 法律 代理"))
               for t in lexicon.translate("where are trafficking victims housed, 受害人住在哪里"))


def test_a_just_built_lexicon_translates_text_as_one_loaded_from_disk(lexicon, tmp_path):
    """translate_text (the e5 run's word-by-word rendering) must work on the object build_lexicon
    returns, not only after a save and load: it once returned "" until the lexicon was reloaded."""
    path = tmp_path / "lexicon.json"
    lexicon.save(path)
    loaded = Lexicon.load(path)
    for text in ("shelters for victims and free legal representation", "受害人的就业和教育"):
        assert lexicon.translate_text(text), text
        assert lexicon.translate_text(text) == loaded.translate_text(text)


def test_plain_wording_expands_to_the_treaties_wording():
    """data/paraphrases.tsv: "pull out" finds "denounce"; a phrase whose stems the wording already
    has ("criminalize" / "criminal offences") must not fire on every "criminal"; wording absent from
    the index is dropped."""
    paraphrases = read_glossary(ROOT / "data" / "paraphrases.tsv")
    vocab = set(tokenize("Any State Party may denounce this Protocol. Denunciation shall take effect. commercial carriers criminal offences"))
    lex = build_lexicon([], vocab, paraphrases)
    assert "denounce" in lex.expand("If a country pulls out of the convention, what happens?")
    assert "commercial carriers" in lex.expand("Can airlines be fined?")
    assert lex.expand("criminal justice responses") == ""
    assert lex.expand("Where do victims get shelter?") == ""  # "appropriate housing" is not in this index


def test_bm25_finds_the_treaty_wording_for_a_plain_question():
    from index.bm25 import LexicalIndex

    texts = ["Any State Party may denounce this Protocol by written notification.", "Victims shall receive appropriate housing."]
    lexical = LexicalIndex.build(texts)
    lexical.lexicon = build_lexicon([], lexical.vocab, [("pull out", "denounce denunciation")])
    question = "Can a country pull out?"
    assert lexical.scores(question, translate=False, expand=False)[0] == 0  # no word in common
    scores = lexical.scores(question)
    assert scores[0] > 0 and scores[1] == 0


def test_router_prefers_the_longer_name(manifest_docs):
    router = Router(list(manifest_docs))
    assert router.route("What does the Smuggling of Migrants Protocol say about vessels?") == {"som-protocol"}
    assert "tip-protocol" in router.route("议定书对遣返被害人有何规定？")
    assert "report" in router.route("What did the working group recommend?")
    assert router.route("victims' privacy") == set()


def test_scope_declines_unknown_instruments_and_years(manifest_docs):
    docs = list(manifest_docs)
    years = {"2017", "2016"}
    assert out_of_scope("What does the Firearms Protocol require?", docs, years)
    assert out_of_scope("Firearms Protocol: is it in force?", docs, years) == ("scope_instrument", "Firearms Protocol")
    assert out_of_scope("Must the Optional Protocol on the Sale of Children be ratified?", docs, years)
    assert out_of_scope("《兒童權利公約》對童工有什麼規定？", docs, years)
    assert out_of_scope("What did the group recommend in 2019?", docs, years)
    assert out_of_scope("What does the Trafficking in Persons Protocol say about shelters?", docs, years) is None
    assert out_of_scope("《贩运人口议定书》第6条说了什么？", docs, years) is None
    assert known_instrument("this Protocol", docs)
    assert years_in(["held on 6 September 2017 and in 2016"]) == {"2017", "2016"}


def test_windows_split_long_text_and_keep_short_text():
    short = "(c) Medical, psychological and material assistance; and"
    assert windows(short, 64) == [short]
    long = " ".join(f"Sentence number {i} says something about victims." for i in range(40))
    parts = windows(long, 64)
    assert len(parts) > 1 and " ".join(parts) == long


def test_own_texts_stop_at_the_first_sub_unit(corpus_units):
    units = corpus_units["report"]
    own = own_texts(units)
    assert own["report:7"] == "7. 工作组建议缔约方会议审议是否采纳以下建议："
    assert own["report:7(c)"] == next(u.text for u in units if u.ref == "report:7(c)")


def test_embedding_cache_round_trip(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    cache.put_many("m", ["a", "b"], vectors)
    got = cache.get_many("m", ["a", "b", "c"])
    assert set(got) == {"a", "b"} and np.array_equal(got["b"], vectors[1])
    assert cache.get_many("other-model", ["a"]) == {}
    cache.close()
    assert set(EmbeddingCache(tmp_path).get_many("m", ["a"])) == {"a"}  # persisted


@pytest.mark.parametrize("question", ["Does the Protocol protect victims' privacy?", "Under this Convention, what is a serious crime?",
                                      "What does the Smuggling of Migrants Protocol say about vessels?", "这项议定书何时生效？",
                                      # a sentence's first word is capitalised; it is not a title's
                                      "Both the Protocol and the working group talk about language; what does each say?",
                                      "Must the Protocol's measures be applied without discrimination?",
                                      "Should this Convention apply to corruption?", "Besides the Protocol, what binds States?"])
def test_scope_keeps_questions_about_known_instruments(manifest_docs, question):
    assert out_of_scope(question, list(manifest_docs), {"2017"}) is None


def test_a_units_best_sub_unit_close_below_it_is_lifted_to_rank_just_ahead_of_it():
    """6(3) just below art. 6 takes 6's score (and so, on the tie, goes first); its sibling 6(4), also
    close, does not; 6(3)(b), too far below 6(3), and 7, no sub-unit of 6, keep theirs; 7(1) already
    above 7 lifts nothing. A lift never lowers a score."""
    from types import SimpleNamespace

    from index.passes import Hit, lift_sub_units

    parents = {"6": "", "6(3)": "6", "6(4)": "6", "6(3)(b)": "6(3)", "7": "", "7(1)": "7", "7(2)": "7"}
    by_ref = {ref: SimpleNamespace(parent=parent) for ref, parent in parents.items()}
    scores = {"6": 1.42, "6(3)": 1.37, "6(4)": 1.36, "6(3)(b)": 1.0, "7": 1.40, "7(1)": 1.5, "7(2)": 1.35}
    hits = [Hit(ref, score) for ref, score in scores.items()]
    lift_sub_units(hits, by_ref, 0.1)
    assert {h.ref: h.score for h in hits} == {**scores, "6(3)": 1.42}
    # a grandparent counts too, compared with its best descendant's own score
    hits = [Hit("6", 1.05), Hit("6(3)(b)", 1.0)]
    lift_sub_units(hits, by_ref, 0.1)
    assert [h.score for h in hits] == [1.05, 1.05]


def test_dense_scores_are_rescaled_between_the_best_and_the_floor_rank():
    """Best -> 1, the floor_rank-th best -> 0, lower ones clipped to 0, order kept; fewer scores than
    the floor rank scale down to the last one (min-max)."""
    from index.fusion import over_floor

    scores = {f"u{i}": 0.9 - i * 0.01 for i in range(30)}  # u0 best ... u29 worst
    scaled = over_floor(scores, 20)
    assert scaled["u0"] == 1.0 and scaled["u19"] == 0.0 and scaled["u25"] == 0.0
    assert scaled["u10"] == pytest.approx(9 / 19)
    assert over_floor({"a": 0.8, "b": 0.7, "c": 0.6}, 20) == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0})


def test_embedder_weights_are_read_from_the_environment_and_bad_ones_are_named(monkeypatch):
    import settings as settings_module

    monkeypatch.setenv("PINPOINT_EMBEDDER_WEIGHTS", "use=0.5, e5=2")
    read = settings_module.get_settings()
    assert dict(read.embedder_weights) == {"use": 0.5, "e5": 2.0}
    hash(read)  # Settings stays hashable (frozen, no dict inside)
    monkeypatch.setenv("PINPOINT_EMBEDDER_WEIGHTS", "use,e5=2")
    with pytest.raises(ValueError, match="PINPOINT_EMBEDDER_WEIGHTS"):
        settings_module.get_settings()
