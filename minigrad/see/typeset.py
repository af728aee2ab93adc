"""The explanation's formulas as Typst markup: typeset maths for a PDF, from the text the explanation prints.

`explain.py` prints formulas as Unicode text (`∂L/∂W1 = Xᵀ · ((∂L/∂Ŷ · W2ᵀ) ⊙ 1[Z1 > 0])`), which
Markdown and a terminal show as they are. `typst_math` rewrites such a text as Typst math, so a
PDF shows ∂L/∂W₁ as a fraction, W₁ with its subscript, Ŷ as a hat and ℝ³ˣ⁴ with its exponent;
`typst_text` does the same for prose (sub- and superscripts, everything else escaped). The
subscript rule is the naming policy's (`graph.math_runs`): a digit run after a letter.

Neither imports Typst: they return source text, which `typst.compile` (the `typst` package) turns
into a PDF.
"""
from __future__ import annotations

import re

from .graph import math_runs

_SCRIPT = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8",
           "⁹": "9", "ˣ": " times ", "⁻": "-", "ᴺ": "N"}
_SYMBOLS = {"·": "dot", "⊙": "dot.o", "−": "-", "×": "times", "∈": "in", "→": "->", "←": "<-", "≠": "!=",
            "≥": ">=", "≤": "<=", "σ": "sigma", "…": "dots", "⋮": "dots.v", "‖": "||", "ℝ": "RR", "𝟙": "bb(1)",
            "+": "+", "=": "=", ">": ">", "<": "<", ",": ",", "(": "(", ")": ")", "[": "[", "]": "]", "|": "|",
            "/": "/", ":": ":", "!": "!"}
_FUNCTIONS = {"tanh", "exp", "log", "sin", "cos", "max", "min"}
_HATS = {"Ŷ": "hat(Y)", "ŷ": "hat(y)"}
_NAME = re.compile(r"((?:(?![ᵀᵢⱼˣᴺℝσ𝟙])[^\W\d_])+)([0-9]+(?:,[0-9]+)*)?")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?")
_COEFFICIENT = re.compile(r"\((−?[0-9]+(?:\.[0-9]+)?)/([0-9]+(?:\.[0-9]+)?)\)")
_TIGHT = re.compile(r"(?<=[(\[]) | (?=[)\]])")
_CALLED = re.compile(r'(?<![_\w"])((?:"\w+")|' + "|".join(_FUNCTIONS) + r") \(")
_SUMS = {"Σ_rows": 'sum_"rows"', "Σ_cols": 'sum_"cols"', "Σ_all": "sum"}
_TEXT_SPECIAL = re.compile(r"([\\#*_$<>@\[\]`~\"'/])")


def typst_math(text: str, fractions: bool = True) -> str:
    """A formula printed by the explanation as Typst math (without the $ signs).

    With fractions=False a derivative stays on one line, ∂L/∂W₁, as in a table cell.

    Example:
        >>> typst_math("∂L/∂W1 = Xᵀ · ∂L/∂Z1")
        '(partial L)/(partial W_(1)) = X^T dot (partial L)/(partial Z_(1))'
    """
    joined = _TIGHT.sub("", " ".join(_tokens(text, fractions)).replace(" ^", "^").replace(" _", "_"))
    return _CALLED.sub(r"\1(", joined).strip()


def _tokens(text: str, fractions: bool = True) -> list[str]:
    out: list[str] = []
    k = 0
    while k < len(text):
        ch = text[k]
        rest = text[k:]
        if ch.isspace():
            k += 1
            continue
        if ch == "∂":
            fraction, k = _derivative(text, k, fractions)
            out.append(fraction)
            continue
        coefficient = _COEFFICIENT.match(rest)
        if coefficient:
            num = coefficient.group(1).replace("−", "-")
            out.append(f"{num}/{coefficient.group(2)}" if fractions else f"({num} \\/ {coefficient.group(2)})")
            k += coefficient.end()
            continue
        total = next((s for s in _SUMS if rest.startswith(s)), None)
        if total:
            out.append(_SUMS[total])
            k += len(total)
            continue
        if rest.startswith("Σ"):
            out.append("sum")
            k += 1
            continue
        if rest.startswith("1[") and (k == 0 or not (text[k - 1].isalnum() or text[k - 1] == ".")):
            out.append("bb(1)[")
            k += 2
            continue
        if ch in _SCRIPT:
            j = k
            while j < len(text) and text[j] in _SCRIPT:
                j += 1
            out.append("^(" + "".join(_SCRIPT[c] for c in text[k:j]).strip() + ")")
            k = j
            continue
        if ch == "ᵀ":
            out.append("^T")
            k += 1
            continue
        if rest.startswith("ᵢⱼ"):
            out.append("_(i j)")
            k += 2
            continue
        if ch == "ⱼ":
            out.append("_j")
            k += 1
            continue
        number = _NUMBER.match(rest)
        if number:
            out.append(number.group(0))
            k += number.end()
            continue
        name = _NAME.match(rest)
        if name and ch not in _SYMBOLS:
            out.append(_name(name.group(1), name.group(2)))
            k += name.end()
            continue
        out.append("\\/" if ch == "/" and not fractions else _SYMBOLS.get(ch, f'"{ch}"'))
        k += 1
    return out


def _name(letters: str, digits: str | None) -> str:
    """W, 1 -> W_(1); Ŷ -> hat(Y); mean -> "mean"; tanh -> tanh; sub, 1 -> "sub"_(1)."""
    base = "".join(_HATS.get(c, c) for c in letters) if len(letters) == 1 else (
        letters if letters in _FUNCTIONS else f'"{letters}"')
    return base + (f"_({digits})" if digits else "")


def _derivative(text: str, k: int, fractions: bool) -> tuple[str, int]:
    """'∂L/∂W1' or '∂L/∂(X·W1)' at position k as (partial L)/(partial W_1), and where it ends."""
    top, k = _operand(text, k + 1)
    if text[k:k + 2] != "/∂":
        return f"partial {typst_math(top, fractions)}", k
    bottom, k = _operand(text, k + 2)
    top, bottom = typst_math(top, fractions), typst_math(bottom, fractions)
    return f"(partial {top})/(partial {bottom})" if fractions else f"partial {top} \\/ partial {bottom}", k


def _operand(text: str, k: int) -> tuple[str, int]:
    """A name (with its digits) or one bracketed group starting at k."""
    if k < len(text) and text[k] == "(":
        depth, j = 0, k
        while j < len(text):
            depth += (text[j] == "(") - (text[j] == ")")
            j += 1
            if depth == 0:
                break
        return text[k:j], j
    name = _NAME.match(text, k)
    return (name.group(0), name.end()) if name else ("", k)


def typst_text(text: str, code: bool = False) -> str:
    """Prose as Typst markup: specials escaped, W1 as W#sub[1], ℝ³ˣ⁴ as ℝ#super[3×4].

    With code=True a `quoted` span stays code (Typst raw text), as in a docstring.
    """
    if code:
        pieces = text.split("`")
        return "".join(typst_text(p) if k % 2 == 0 else f"#raw({typst_string(p)})" for k, p in enumerate(pieces))
    out = []
    for run, kind in math_runs(text):
        escaped = _TEXT_SPECIAL.sub(r"\\\1", run)
        out.append(f"#{'sub' if kind == 'sub' else 'super'}[{escaped}]" if kind else escaped)
    return "".join(out)


def typst_string(text: str) -> str:
    """A Typst string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
