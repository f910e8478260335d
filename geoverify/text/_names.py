"""Registry names and aliases in a piece of text: transliteration-aware, fuzzy, scored.

Method: the text and every name and alias are case-folded, split into words of letters and
digits, and written in Latin letters twice when Cyrillic: by Ukraine's official romanisation
(Cabinet of Ministers resolution 55 of 2010, without its word-initial forms: г -> h, и -> y,
і -> i) and by a Russian one (г -> g, и -> i, ы -> y, as BGN/PCGN without its diacritics).
Each pair of forms in one script is scored by difflib's ``SequenceMatcher.ratio`` (2 x the
matching letters / both lengths) over every pair of word windows of equal length (one, two...
words of the text against as many of the name), so "Артемовск" meets "Artemivsk" in "Bakhmut
railway station (formerly Artemivsk-II)" at 0.89. A window of generic words alone (street,
вулиця, river...) or shorter than four letters is not compared, so "street" names no place.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from geoverify.text._model import NameMatch

if TYPE_CHECKING:
    from geoverify.registry import Registry

_LATIN_OF_COMMON = tuple(
    ["a", "b", "v", "d", "e", "z", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f", "kh",
     "ts", "ch", "sh", "shch", "_", "iu", "ia", "i", "zh", "e", "_", "_", "_"]
)  # fmt: skip
_COMMON = dict(
    zip(
        "абвдезклмнопрстуфхцчшщьюяйжё'’ʼ",
        _LATIN_OF_COMMON,
        strict=True,
    )
)
_UKR = {**_COMMON, "г": "h", "ґ": "g", "и": "y", "і": "i", "ї": "i", "є": "ie"}
_RUS = {**_COMMON, "г": "g", "и": "i", "ы": "y", "э": "e", "ъ": "_", "ю": "yu", "я": "ya",
        "і": "i", "ї": "i", "є": "e", "ґ": "g"}  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[^\W_]+")
_GENERIC = _words(
    "вулиця вул улица ул провулок переулок площа площадь проспект бульвар річка река р "
    "місто город село пам'ятник памятник церква церковь храм музей вокзал станція станция "
    "street st road rd avenue square river station railway church museum monument city "
    "town label point the of former formerly and straße strasse platz weg"
)
_MIN_LETTERS = 4


def _generic_forms(words: frozenset[str]) -> frozenset[str]:
    """Return the generic words as written and transliterated, apostrophes dropped."""
    bare = {w.replace("'", "").replace("’", "") for w in words}
    return frozenset(bare | {transliterate(w, system=s) for w in bare for s in ("ukr", "rus")})


def _is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)


def transliterate(text: str, *, system: str = "ukr") -> str:
    """Write Cyrillic letters in Latin (``ukr``: Ukraine's 2010 system; ``rus``: Russian).

    Letters of other scripts pass through; soft and hard signs and apostrophes are dropped.
    """
    table = _UKR if system == "ukr" else _RUS
    out = []
    for ch in text.casefold():
        latin = table.get(ch, ch)
        out.append("" if latin == "_" else latin)
    return "".join(out)


def _forms(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return the text's word sequences: as written, and Latin forms when Cyrillic."""
    words = tuple(_TOKEN.findall(text.casefold().replace("'", "").replace("’", "")))
    if not words:
        return ()
    out = [("written", words)]
    if any(_is_cyrillic(w) for w in words):
        for system in ("ukr", "rus"):
            out.append(("transliterated", tuple(transliterate(w, system=system) for w in words)))
    return tuple(out)


def _windows(words: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    for i in range(len(words) - n + 1):
        yield tuple(words[i : i + n])


def _comparable(window: Sequence[str]) -> bool:
    letters = sum(len(w) for w in window if not w.isdigit())
    return letters >= _MIN_LETTERS and not all(w in _GENERIC_FORMS for w in window)


def _best_pair(
    text_words: Sequence[str], name_words: Sequence[str]
) -> tuple[float, tuple[str, ...]]:
    """Score the best pair of word windows of equal length, one of each sequence.

    Returns the score and the text's window. Windows of generic words alone or of fewer than
    four letters are not compared.
    """
    best, best_text = 0.0, tuple(text_words)
    for n in range(1, min(len(text_words), len(name_words)) + 1):
        names = [" ".join(w) for w in _windows(name_words, n) if _comparable(w)]
        if not names:
            continue
        for window in _windows(text_words, n):
            if not _comparable(window):
                continue
            joined = " ".join(window)
            for name in names:
                score = difflib.SequenceMatcher(None, joined, name, autojunk=False).ratio()
                if score > best:
                    best, best_text = score, window
    return best, best_text


def score_name(text: str, name: str) -> tuple[float, str, str]:
    """Score how well ``text`` names ``name``: (score 0-1, method, the part of the text).

    Forms in one script only are compared (written with written, Latin with Latin).
    """
    best: tuple[float, str, str] = (0.0, "", "")
    for kind_t, text_words in _forms(text):
        for kind_n, name_words in _forms(name):
            if _is_cyrillic("".join(text_words)) != _is_cyrillic("".join(name_words)):
                continue
            score, part = _best_pair(text_words, name_words)
            if score > best[0]:
                method = "transliterated" if "transliterated" in (kind_t, kind_n) else "fuzzy"
                if score >= 1.0 and method == "fuzzy":
                    method = "exact"
                best = (round(score, 3), method, " ".join(part))
    return best


def match_names(text: str, registry: Registry, *, min_score: float = 0.85) -> tuple[NameMatch, ...]:
    """Return every landmark whose name or alias ``text`` matches, best first.

    Parameters
    ----------
    text
        A line of text (read from a frame, or typed).
    registry
        The names and aliases to look for.
    min_score
        The fuzzy score (0-1) a name needs; each landmark is reported once, by its best name.
    """
    found = []
    for lm in registry.landmarks:
        best: NameMatch | None = None
        for name in dict.fromkeys((lm.name, *lm.aliases)):
            score, method, part = score_name(text, name)
            better = best is None or (score, method == "exact") > (
                best.score,
                best.method == "exact",
            )
            if score >= min_score and better:
                best = NameMatch(
                    landmark_id=lm.id, name=name, matched_text=part, score=score, method=method
                )
        if best is not None:
            found.append(best)
    return tuple(sorted(found, key=lambda m: (-m.score, m.landmark_id)))


_GENERIC_FORMS = _generic_forms(_GENERIC)
