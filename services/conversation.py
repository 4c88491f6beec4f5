"""Follow-up questions made standalone before retrieval, and the script of the answer.

"Which country is she from?" after "Who chaired the meeting?" must search for the chair.
Two ways, one contract (history in, one standalone question out):
- rule-based (no model): when the latest question is short or anaphoric (she/he/it/they/this/
  that/它/她/他/其/该/这 ...), the salient terms of the previous user turn(s) are put in front of
  it (or, when those have none, the label of the previous answer's first cited unit); a follow-up
  that turns to another document also carries the terms of the unit the previous answer quoted;
- with a model: llama-index's condense step (the one CondensePlusContextChatEngine runs) over a
  ChatMemoryBuffer of the history, with ``prompts/<lang>/condense.txt``; when the model fails or
  returns nothing usable, the rule-based question is used.
Before either, a reference relative to the provision the previous answer cited ("its paragraph 2",
"那(d)项呢？") is resolved exactly (``relative_condense``); neither rule nor model is then needed.

History is passed in with every call ([{"role": "user"|"assistant", "content": str}, ...]);
nothing here keeps state between calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from index.text_norm import EN_STOP, HAS_CJK, language_of, to_simplified, zh_words
from ingest.grammar import NEIGHBOUR
from ingest.units import Unit
from services.refparse import relative_reference

EN_ANAPHORA = frozenset(
    "she he it they them this that these those her his its their there theirs hers him such same".split()
)
ZH_ANAPHORA = ("它", "她", "他", "其", "该", "这", "那", "此", "上述", "类似", "同样", "上面")
EN_FOLLOW_OPENERS = ("and ", "what about", "how about", "also", "then ", "so ")
ZH_FOLLOW_OPENERS = ("那", "那么", "还有", "另外", "而")
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how does do did is are was were can could should would will "
    "say says said tell please about".split()
)
ZH_QUESTION_WORDS = frozenset("什么 哪些 哪个 哪 谁 是否 如何 怎么 怎样 为什么 吗 呢 多少 几 规定 说 了".split())
SHORT_EN_WORDS = 5
SHORT_ZH_CHARS = 8
MAX_PREVIOUS_TURNS = 2
MAX_CARRIED_TERMS = 30  # salient terms carried over from a quoted unit into a cross-document follow-up
# A term in quotation marks: “…”, "…", ‘…’, 「…」 (《…》 names a document; the router handles those).
QUOTED = re.compile(r"“([^”]{1,40})”|\"([^\"]{1,40})\"|‘([^’]{1,40})’|「([^」]{1,40})」")


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def is_traditional(text: str) -> bool:
    """True when the text has Chinese characters that only traditional script writes."""
    return bool(HAS_CJK.search(text)) and to_simplified(text) != text


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def user_turns(history: list[dict] | None) -> list[str]:
    return [str(m.get("content", "")) for m in history or [] if m.get("role") == "user" and m.get("content")]


def last_assistant(history: list[dict] | None) -> str:
    for message in reversed(history or []):
        if message.get("role") == "assistant" and message.get("content"):
            return str(message["content"])
    return ""


# "Say that again in plain words", "能用更简单的话再说一遍吗？": the previous answer, asked for again.
ASKS_AGAIN = re.compile(
    r"\b(again|repeat|rephrase|in other words|more simply|simpler|plain(?:er)? (?:words|english|language)|"
    r"put (?:that|it) (?:more )?simply)\b|再说一遍|再讲一遍|重复一下|换句话|简单点|更简单|通俗",
    re.IGNORECASE,
)
# "And children?", "What about the Smuggling Protocol?", "那口译服务呢？", "Was there also …": the
# follow-up turns to another aspect, so the previous answer's units are not its answer.
MOVES_ON = re.compile(
    r"^\s*(?:and\b|what about|how about|but what|then what)|\b(?:also|too|else|other|another|instead)\b|"
    r"^\s*(?:那|那么|还有|另外|此外)|[还也另]|呢[？?]?\s*$",
    re.IGNORECASE,
)


def asks_again(question: str) -> bool:
    """The follow-up asks for the previous answer again, in other words."""
    return bool(ASKS_AGAIN.search(to_simplified(question)))


def moves_on(question: str) -> bool:
    """The follow-up names another aspect than the previous answer's ("and children?", "那…呢？")."""
    return bool(MOVES_ON.search(to_simplified(question)))


def needs_context(question: str) -> bool:
    """Short, elliptical or anaphoric: the question leans on an earlier turn."""
    q = to_simplified(question.strip().lower())
    if NEIGHBOUR.search(q):  # "the next paragraph", "下一项": always the one before
        return True
    if language_of(q) == "zh":
        core = re.sub(r"[\s\W]", "", q)
        return len(core) <= SHORT_ZH_CHARS or any(a in q for a in ZH_ANAPHORA) or q.startswith(ZH_FOLLOW_OPENERS)
    words = re.findall(r"[a-z']+", q)
    return (
        len(words) <= SHORT_EN_WORDS
        or any(w in EN_ANAPHORA for w in words)
        or q.startswith(EN_FOLLOW_OPENERS)
    )


def salient_terms(text: str) -> str:
    """The content words of a question, in order: no stop words, no question words."""
    out: list[str] = []
    for token in re.findall(r"[\u4e00-\u9fff\u3400-\u4dbf]+|[A-Za-z0-9][A-Za-z0-9'/.-]*", text):
        if HAS_CJK.search(token):
            words = [w for w in zh_words(token) if w not in ZH_QUESTION_WORDS and len(w) > 1]
            out.extend(w for w in words if w not in out)
        elif token.lower() not in EN_STOP and token.lower() not in QUESTION_WORDS and token not in out:
            out.append(token)
    return " ".join(out)


def rule_condense(
    question: str,
    history: list[dict] | None,
    cited: Sequence[Unit] = (),
    router=None,
    translate: Callable[[str], str] | None = None,
) -> str:
    """The standalone question without a model (see the module docstring).

    ``cited``: the units the previous answer cited, in order. ``router`` (the index's Router)
    lets a follow-up that names another document shed the previous turns' document names.
    ``translate`` (the index lexicon's) puts carried-over text into the target document's language.

    The label of the previous answer's first unit is used only when the earlier user turns have
    no salient terms: added to them, it pulls retrieval towards that unit's neighbours (always
    adding it lost multi-turn hits on eval/sets/multiturn.jsonl: docs/experiments.md). When
    the follow-up turns to a document the previous answer did not quote ("And what does the
    Protocol say on that?"), "that" is what the answer quoted: the salient terms of its most
    specific unit are carried over, in the target document's language, so that the report's
    收容所或其他适当住处 finds the Protocol's "appropriate housing" (untranslated, the report's
    own paragraph came first again).
    """
    previous = user_turns(history)[-MAX_PREVIOUS_TURNS:]
    if not previous or not needs_context(question):
        return question
    swapped = swap_quoted_term(previous[-1], question)
    if swapped:
        return swapped
    target = router.route(question) if router is not None else set()
    if target:
        previous = [router.without_names(p, target) for p in previous]
    terms = " ".join(t for t in (salient_terms(p) for p in previous) if t)
    if target and cited and not {unit.doc for unit in cited} & target:
        focus = max(cited, key=lambda unit: unit.ref.count("("))
        text = focus.text
        if translate is not None and focus.lang not in {router.languages.get(doc) for doc in target}:
            text = translate(text)
        carried = salient_terms(text).split()[:MAX_CARRIED_TERMS]
        terms = " ".join([terms, *carried]).strip()
    lead = terms or (cited[0].label(language_of(question)) if cited else "")
    return f"{lead} {question}".strip() if lead else question


def relative_condense(question: str, cited: Sequence[Unit], units: Mapping[str, Unit], router=None) -> str | None:
    """The follow-up led by the label of the provision it names relative to the previous answer's
    first citation ("its paragraph 2" after article 7: "…, art. 7, para. 2 What does its paragraph 2
    say?"), where the engine reads it as a named provision; None when it names none.

    Exact and deterministic, so it goes before any condensing, by rule or by a model. Not when the
    follow-up names another document than the one cited.
    """
    if not cited or not needs_context(question):
        return None
    target = router.route(question) if router is not None else set()
    if target and cited[0].doc not in target:
        return None
    ref = relative_reference(question, cited[0].ref, units)
    return f"{units[ref].label(language_of(question))} {question}" if ref else None


def swap_quoted_term(previous: str, question: str) -> str | None:
    """"那“有组织犯罪集团”呢？" after "“严重犯罪”怎么定义？" asks the same of another term: the previous
    question with its one quoted term replaced by the follow-up's one quoted term, or None.

    Carrying the previous question's terms instead kept "严重犯罪" in the search and lost the
    definition sought (multi-turn m009: untoc:2(a) sixth).
    """
    old, new = QUOTED.findall(previous), QUOTED.findall(question)
    if len(old) != 1 or len(new) != 1:
        return None
    old_term, new_term = ("".join(groups) for groups in (old[0], new[0]))
    return QUOTED.sub(lambda m: m.group(0).replace(old_term, new_term), previous, count=1)


def history_messages(history: list[dict] | None):
    """llama-index ChatMessages of the history, in a ChatMemoryBuffer (which trims old turns)."""
    from llama_index.core.llms import ChatMessage, MessageRole
    from llama_index.core.memory import ChatMemoryBuffer

    messages = [
        ChatMessage(role=MessageRole.USER if m.get("role") == "user" else MessageRole.ASSISTANT, content=str(m["content"]))
        for m in history or []
        if m.get("role") in ("user", "assistant") and m.get("content")
    ]
    memory = ChatMemoryBuffer.from_defaults(chat_history=messages, token_limit=1500)
    return memory.get()


def llm_condense(llm, prompt, question: str, history: list[dict] | None) -> str:
    """CondensePlusContextChatEngine's condense step: the prompt over the history string, one call."""
    from llama_index.core.base.llms.generic_utils import messages_to_history_str

    chat_history = history_messages(history)
    if not chat_history:
        return question
    return llm.predict(prompt, question=question, chat_history=messages_to_history_str(chat_history)).strip()


def usable_condensed(candidate: str, question: str) -> bool:
    """A model's standalone question is kept only when it looks like one question."""
    text = candidate.strip()
    return bool(text) and len(text) <= max(400, 4 * len(question)) and "\n\n" not in text
