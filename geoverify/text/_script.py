"""Which script, and which language, a piece of text is written in: a small shipped rule set.

Method: letters are counted by their Unicode script (``unicodedata.name``). Cyrillic text is
told apart by the letters only one of the languages has (Ukrainian і ї є ґ; Russian ы э ъ ё;
Belarusian ў, or і together with ы or э) and, failing that, by common words of signs
(вулиця / улица, площа / площадь...). Latin-script text by the letters and words of German,
English, French and Polish signs. No statistical model: a rule fires or the language stays
``und`` (undetermined), and the letters and words that fired are returned as evidence. Short
names shared by the languages (Бахмут) are ``und`` by design.
"""

from __future__ import annotations

import re
import unicodedata

from geoverify.text._model import ScriptGuess


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_UKR_LETTERS = frozenset("іїєґ")
_RUS_LETTERS = frozenset("ыэъё")
_BEL_LETTERS = frozenset("ў")
_CYR_WORDS = {
    "ukr": _words(
        "вулиця вул провулок пров площа пл проспект просп бульвар місто село селище річка "
        "пам'ятник пам’ятник церква зупинка вихід вхід та і й що це на з до від для"
    ),
    "rus": _words(
        "улица ул переулок пер площадь пл проспект город село поселок река памятник церковь "
        "остановка выход вход и что это на с до от для"
    ),
}
_LATIN_LETTERS = {
    "deu": frozenset("äöüß"),
    "fra": frozenset("éèêàâçëîïôûùœ"),
    "pol": frozenset("ąćęłńśźż"),
}
_LATIN_WORDS = {
    "deu": _words(
        "straße strasse str platz weg allee gasse ring damm ufer alt neu der die das und nicht "
        "für mit von zum zur im am ausfahrt einfahrt notruf stadt bahnhof kirche"
    ),
    "eng": _words(
        "street st road rd avenue ave lane square the and of to for with exit entrance station "
        "church no way"
    ),
    "fra": _words("rue place boulevard bd avenue chemin de la le les du des et sortie"),
    "pol": _words("ulica ul aleja plac rynek i w na z do dla"),
}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _script_of(ch: str) -> str | None:
    """Return ``Cyrillic`` or ``Latin`` for a letter, else ``None``."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("CYRILLIC"):
        return "Cyrillic"
    if name.startswith("LATIN"):
        return "Latin"
    return None


def _which_script(text: str) -> str:
    """Return the script most letters are written in (``mixed`` when neither has 80 %)."""
    counts = {"Cyrillic": 0, "Latin": 0}
    for ch in text:
        script = _script_of(ch)
        if script is not None:
            counts[script] += 1
    total = sum(counts.values())
    if total == 0:
        return "none"
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 0.8 * total else "mixed"


def _decide(scores: dict[str, list[str]]) -> ScriptGuess | None:
    """Pick the language with the most evidence; ``None`` on no evidence or a tie."""
    ranked = sorted(scores.items(), key=lambda kv: len(kv[1]), reverse=True)
    if not ranked or not ranked[0][1]:
        return None
    if len(ranked) > 1 and len(ranked[1][1]) == len(ranked[0][1]):
        return None
    evidence = tuple(dict.fromkeys(ranked[0][1]))
    return ScriptGuess(script="", language=ranked[0][0], evidence=evidence)


def _cyrillic(low: str, words: list[str]) -> tuple[str, tuple[str, ...]]:
    letters = {lang: sorted({c for c in low if c in s}) for lang, s in
               (("ukr", _UKR_LETTERS), ("rus", _RUS_LETTERS), ("bel", _BEL_LETTERS))}  # fmt: skip
    if letters["bel"] or ("і" in letters["ukr"] and letters["rus"] and "ї" not in low):
        return "bel", tuple(letters["bel"] + letters["ukr"] + letters["rus"])
    by_letter = _decide({k: v for k, v in letters.items() if k != "bel"})
    if by_letter is not None:
        return by_letter.language, by_letter.evidence
    by_word = _decide(
        {lang: [w for w in words if w in vocab] for lang, vocab in _CYR_WORDS.items()}
    )
    if by_word is not None:
        return by_word.language, by_word.evidence
    return "und", ()


def _latin(low: str, words: list[str]) -> tuple[str, tuple[str, ...]]:
    scores = {
        lang: sorted({c for c in low if c in _LATIN_LETTERS.get(lang, frozenset())})
        + [w for w in words if w in vocab]
        for lang, vocab in _LATIN_WORDS.items()
    }
    guess = _decide(scores)
    return (guess.language, guess.evidence) if guess is not None else ("und", ())


def classify_script(text: str) -> ScriptGuess:
    """Return the script and language of ``text`` and the letters and words that decided them.

    Parameters
    ----------
    text
        Any text (a line read from a sign, a sentence).

    Returns
    -------
    ScriptGuess
        ``language`` is ``und`` when no rule fires or two languages tie; a mixed-script text
        gets no language.
    """
    script = _which_script(text)
    low = text.casefold()
    words = [w.replace("’", "'") for w in _WORD.findall(low)]
    if script == "Cyrillic":
        language, evidence = _cyrillic(low, words)
    elif script == "Latin":
        language, evidence = _latin(low, words)
    else:
        language, evidence = "und", ()
    return ScriptGuess(script=script, language=language, evidence=evidence)
