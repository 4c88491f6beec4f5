"""The answerability evidence that needs no index: what counts as a number or a date in a unit, and
the shipped model matching the features and models Pinpoint runs with (a stale one is silently
unused, and every question would be answered)."""

import json

import pytest

from services.answerability import (
    ASKS_DATE,
    ASKS_QUANTITY,
    DATE_IN_TEXT,
    FEATURES,
    QUANTITY_IN_TEXT,
    AnswerabilityModel,
)
from settings import ROOT, get_settings


@pytest.mark.parametrize("text", ["工作组共举行了四次会议", "at least 18 years", "the fortieth instrument of ratification", "百分之三十"])
def test_a_quantity_is_found_in_either_language(text):
    assert QUANTITY_IN_TEXT.search(text)


@pytest.mark.parametrize("text", ["进一步统一各国的做法", "缔约国应当考虑采取适当措施", "States Parties shall endeavour"])
def test_chinese_words_made_with_numerals_are_not_quantities(text):
    assert not QUANTITY_IN_TEXT.search(text)


def test_dates_and_what_asks_for_them():
    assert DATE_IN_TEXT.search("2017年9月6日和7日") and DATE_IN_TEXT.search("on 15 November 2000")
    assert not DATE_IN_TEXT.search("第 5 条第 2 款")
    assert ASKS_DATE.search("中国是哪一年批准的？") and ASKS_DATE.search("When was it adopted?")
    assert ASKS_QUANTITY.search("有多少个缔约国？") and ASKS_QUANTITY.search("How many States are parties?")
    assert not ASKS_QUANTITY.search("What did the group recommend on interpreters?")


def test_the_shipped_model_fits_the_features_and_the_default_embedders():
    path = ROOT / "data" / "answerability.json"
    model = AnswerabilityModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert model.features == FEATURES, "refit: python -m eval.answerability"
    assert set(model.embedders) == set(get_settings().embedders)
    assert 0.0 < model.threshold < 1.0
