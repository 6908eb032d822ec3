"""Plain-text statements of the check registry and figure docstrings, as text + MathJax.

Check statements are written in ASCII for the terminal (``E[R_T] <= 2 sqrt(e-1) ...``).
:func:`segments` splits such a text into prose and math runs, conservatively: a run
of words becomes math only when it holds a clear math marker (a relation, ``^``, ``_``,
a Greek letter name, a function such as ``sqrt(``/``log``, ``E[...]``); everything
else stays prose. :func:`to_latex` converts one math run to LaTeX. reST inline
literals (````code````) and roles (``:func:`x```) become ``("code", text)`` segments,
so that no reST marker is shown literally.
"""

from __future__ import annotations

import re

GREEK = {
    "alpha": r"\alpha", "beta": r"\beta", "gamma": r"\gamma", "delta": r"\delta",
    "epsilon": r"\epsilon", "eps": r"\varepsilon", "zeta": r"\zeta", "eta": r"\eta",
    "theta": r"\theta", "kappa": r"\kappa", "lam": r"\lambda", "lambda": r"\lambda",
    "mu": r"\mu", "nu": r"\nu", "xi": r"\xi", "pi": r"\pi", "rho": r"\rho",
    "sigma": r"\sigma", "tau": r"\tau", "phi": r"\phi", "chi": r"\chi", "psi": r"\psi",
    "omega": r"\omega", "Gamma": r"\Gamma", "Delta": r"\Delta", "Theta": r"\Theta",
    "Lambda": r"\Lambda", "Xi": r"\Xi", "Pi": r"\Pi", "Sigma": r"\Sigma", "Phi": r"\Phi",
    "Psi": r"\Psi", "Omega": r"\Omega",
}
FUNCS = {
    "log": r"\log", "ln": r"\ln", "exp": r"\exp", "max": r"\max", "min": r"\min",
    "sup": r"\sup", "sum": r"\sum", "prod": r"\prod", "liminf": r"\liminf",
    "limsup": r"\limsup", "lim": r"\lim", "argmax": r"\operatorname{argmax}",
    "argmin": r"\operatorname{argmin}", "Var": r"\operatorname{Var}",
    "Cov": r"\operatorname{Cov}", "softmax": r"\operatorname{softmax}",
    "logsumexp": r"\operatorname{logsumexp}", "KL": r"\mathrm{KL}", "kl": r"\mathrm{kl}",
    "poly": r"\operatorname{poly}", "Bin": r"\operatorname{Bin}", "sp": r"\operatorname{sp}",
    "diag": r"\operatorname{diag}", "grad": r"\nabla", "infinity": r"\infty",
}
MATH_WORDS = set(GREEK) | set(FUNCS) | {"sqrt", "inf"}
_OPS = {"<=": r"\le ", ">=": r"\ge ", "->": r"\to ", "!=": r"\ne ", "||": r"\| ",
        "~": r"\sim ", "+-": r"\pm ", "∝": r"\propto ", "≤": r"\le ", "≥": r"\ge ", "→": r"\to ",
        "%": r"\%", "#": r"\#", "&": r"\&", "$": r"\$", "\\": r"\backslash "}
_TOKEN = re.compile(
    r"\x00[^\x00]*\x00|<=|>=|->|!=|\|\||O~|\+-"
    r"|\d+(?:\.\d+)?e-?\d+|\d+(?:\.\d+)?|[A-Za-z]+\d*|\s+|.", re.S)
_STRONG = re.compile(r"[=<>^_|*~∝≤≥→]|->|\d(?:\.\d+)?e-?\d")
_PUNCT = ".,;:"


def _core(word: str) -> str:
    return word.strip("([{").rstrip(_PUNCT + ")]}")


def _identifiers(word: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", word)


_ENGLISH2 = {"of", "in", "is", "at", "to", "by", "as", "on", "an", "or", "if", "be", "we",
             "it", "no", "so", "do", "up", "us", "vs"}


def classify(word: str, nxt: str = "") -> str:
    """``"prose"``, ``"weak"`` (math only next to a marker) or ``"strong"`` (a marker)."""
    core = _core(word)
    if not core:
        return "weak" if word else "prose"
    if re.fullmatch(r"[-+/*|=<>~]+|\+-", core):
        return "strong" if _STRONG.search(core) else "weak"
    if (re.search(r"[\"`]|'(?![()])|^'", word)
            or re.fullmatch(r"[A-Za-z]+(-[A-Za-z]+)+", core)
            or re.search(r"^mdpkit\.|[a-z]\.[a-z_]{3,}", core)
            or re.fullmatch(r"[\w*/]+(-[\w*/]+)+", core) and (
                re.search(r"[A-Z0-9]*[A-Z]{2,}", core)
                or re.search(r"-[a-z]{4,}$", core) and core.rsplit("-", 1)[1] not in MATH_WORDS)
            or re.search(r"\.(md|py|rst|txt|json)$|^[a-z]\.[a-z]\.?$|[A-Z]{2,}_[A-Z]{2,}", core)
            or re.match(r"[a-z]{4,}\(", core) and "{" not in word
            and core.split("(")[0] not in MATH_WORDS):
        return "prose"  # quotes, possessives, compounds (log-log, R2PVI-TV), files, code calls
    if core.isalpha():
        if core in MATH_WORDS or core == "E" or re.fullmatch(r"[a-z]bar", core):
            return "strong"
        if core == "in":
            return "weak" if nxt[:1] in ("[", "{") else "prose"
        if len(core) == 2 and core[0].islower() and core not in _ENGLISH2:
            return "weak"  # dz, dH
        return "weak" if len(core) == 1 and core != "a" else "prose"
    if re.fullmatch(r"[A-Za-z]\d+|\d+(\.\d+)?%?", core):
        return "weak"
    if re.fullmatch(r"[A-Za-z]{2,}\d+", core):
        return "strong" if re.sub(r"\d+$", "", core) in GREEK else "prose"
    if _STRONG.search(word):
        return "strong"
    ids = _identifiers(core)
    if any(i in MATH_WORDS for i in ids) or re.match(r"[A-Za-z]{1,2}[(\[]", core):
        return "strong"
    if (re.search(r"\w[/+]\w|\w[/+]\(|\)[/+]\w", core)
            and all(len(i) == 1 for i in re.findall(r"[A-Za-z]+\d*", core)[:1])):
        return "strong"  # a/b, (R1+R2)/T; not C2/C3 or forest/small
    if ids and all(len(i) == 1 for i in ids):
        return "weak"
    return "prose"


def _balance(text: str) -> int:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth


def _closed(text: str) -> bool:
    """Every bracket of ``text`` closed by its own kind, in order."""
    stack: list[str] = []
    for ch in text:
        if ch in "([{":
            stack.append({"(": ")", "[": "]", "{": "}"}[ch])
        elif ch in ")]}" and (not stack or stack.pop() != ch):
            return False
    return not stack


def _run_end(words: list[str], kinds: list[str], i: int) -> int:
    """End of the non-prose run from ``i``: stops after ``,;:.`` at bracket depth 0."""
    j, depth = i, 0
    while j < len(words) and kinds[j] != "prose":
        depth += _balance(words[j])
        j += 1
        if depth == 0 and words[j - 1][-1:] in _PUNCT:
            break
    return j


def _absorb(word: str) -> str:
    """A prose word inside a bracket of a math run: brackets stay math, the word is text."""
    m = re.fullmatch(r"([(\[{]*)(.*?)([)\]}.,;:]*)", word)
    return f"{m.group(1)}\x00{m.group(2)}\x00{m.group(3)}" if m.group(2) else word


def _math_run(words: list[str], kinds: list[str], i: int) -> tuple[int, str, str, str]:
    """Grow a math run from word ``i``: ``(end, before, math, after)``, or math ``""``."""
    j = _run_end(words, kinds, i)
    run = list(words[i:j])
    before = ""
    # leading weak words and an opening bracket of the prose stay text ("Ch. 2 (Omega(...))")
    while len(run) > 1 and (
            kinds[i] == "weak" and _balance(" ".join(run)) > 0 and run[1].startswith("(")
            or re.fullmatch(r"[-+/|]|in", run[0])):
        before += run.pop(0) + " "
        i += 1
    while len(run) > 1 and re.fullmatch(r"[-+/|]", run[-1]):
        run.pop()
        j -= 1
    text = " ".join(run)
    opened = 0
    while text[opened:].startswith(("(", "[")) and _balance(text[opened:]) > 0:
        opened += 1
    before, text = before + text[:opened], text[opened:]
    while len(run) > 1 and _balance(text) > 0 and kinds[i + len(run) - 1] == "weak":
        run.pop()  # "sqrt(K/T) (C15 iii)": trailing weak words inside a prose bracket
        j = i + len(run)
        text = " ".join(run)[opened:]
    absorbed = 0
    while _balance(text) > 0 and j < len(words) and absorbed < 10:
        # a bracket closes a few words later: the prose words inside become \text
        text += " " + (_absorb(words[j]) if kinds[j] == "prose" else words[j])
        j += 1
        absorbed += 1
    after = ""
    while text and (text[-1] in _PUNCT or (text[-1] in ")]}" and _balance(text) < 0)):
        after = text[-1] + after
        text = text[:-1]
    if not _closed(text) or not text.strip():
        return j, "", "", ""
    return j, before, text.replace("\x00 \x00", " "), after


def segments(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into ``("text" | "math" | "code", str)`` pieces (math as ASCII)."""
    out: list[tuple[str, str]] = []
    parts = re.split(r"(``.+?``|:[a-z:]+:`[^`]+`|`[^`\s][^`]*`|\bmdpkit(?:\.\w+)+)", text)
    for k, part in enumerate(parts):
        if k % 2:
            if part.startswith("``"):
                out.append(("code", part[2:-2]))
            elif part.startswith("`"):  # the default role: an identifier, shown as code
                out.append(("code", part[1:-1]))
            elif part.startswith("mdpkit"):  # a module path
                out.append(("code", part))
            else:  # a role: show its target (the title of "title <target>")
                target = part.split("`")[1]
                m = re.match(r"(.*?)\s*<(.+)>$", target)
                out.append(("code", m.group(1) if m else target.lstrip("~!")))
            continue
        out += _split_math(part)
    return _merge(out)


def _split_math(text: str) -> list[tuple[str, str]]:
    words = text.split(" ")
    kinds = [classify(w, words[n + 1] if n + 1 < len(words) else "") for n, w in enumerate(words)]
    depth = 0
    for n, w in enumerate(words):  # the arguments of a code call stay prose: f(top_k=0, p=1)
        if depth > 0 or (kinds[n] == "prose" and re.match(r"[a-z]{4,}\(", _core(w))):
            kinds[n] = "prose"
            depth = max(depth + _balance(w), 0)
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        if kinds[i] == "prose":
            out.append(("text", words[i] + " "))
            i += 1
            continue
        j = _run_end(words, kinds, i)
        if "strong" not in kinds[i:j]:
            out.append(("text", " ".join(words[i:j]) + " "))
            i = j
            continue
        end, before, math, after = _math_run(words, kinds, i)
        if not math:
            out.append(("text", " ".join(words[i:j]) + " "))
            i = j
            continue
        out += [("text", before), ("math", math), ("text", after + " ")]
        i = end
    if out and out[-1][0] == "text":
        out[-1] = ("text", out[-1][1][:-1])
    return out


def _merge(segs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, s in segs:
        if not s:
            continue
        if out and out[-1][0] == kind == "text":
            out[-1] = ("text", out[-1][1] + s)
        else:
            out.append((kind, s))
    return out


def _identifier(tok: str, sub: bool) -> str:
    if tok == "chi2":
        return r"\chi^2"
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", tok)
    if m and (m.group(1).islower() and len(m.group(1)) == 1 or m.group(1) in GREEK):
        return f"{_identifier(m.group(1), False)}_{{{m.group(2)}}}"
    if tok in GREEK:
        return GREEK[tok] + " "
    if tok in FUNCS:
        return FUNCS[tok] + " "
    if re.fullmatch(r"[a-z]bar", tok):
        return rf"\bar{{{tok[0]}}}"
    if len(tok) == 1 or (not sub and tok.isupper() and len(tok) <= 3):
        return tok
    return rf"\mathrm{{{tok}}}"


def _matching(s: str, i: int) -> int:
    """Index of the bracket closing the one at ``s[i]`` (``-1`` if none)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for k in range(i, len(s)):
        if s[k] == s[i]:
            depth += 1
        elif s[k] == pairs[s[i]]:
            depth -= 1
            if depth == 0:
                return k
    return -1


def to_latex(expr: str) -> str:
    """LaTeX of one ASCII math run (``sqrt(x)`` -> ``\\sqrt{x}``, ``<=`` -> ``\\le``, ...)."""
    out: list[str] = []
    toks = [m.group(0) for m in _TOKEN.finditer(expr)]
    pos = [m.start() for m in _TOKEN.finditer(expr)]
    n = 0
    groups: list[bool] = []  # for each open "{": True when it groups a sub/superscript
    while n < len(toks):
        t, p = toks[n], pos[n]
        nxt = toks[n + 1] if n + 1 < len(toks) else ""
        prev = toks[n - 1] if n else ""
        if t.startswith("\x00"):
            out.append(r"\text{ " + re.sub(r"[{}\\$^_#%&~]", "", t.strip("\x00")) + " }")
        elif t == "sqrt" and nxt == "(" and _matching(expr, p + 4) > 0:
            close = _matching(expr, p + 4)
            out.append(r"\sqrt{" + to_latex(expr[p + 5:close]) + "}")
            n = _skip_to(pos, close + 1)
            continue
        elif t in ("^", "_"):
            if t == _last_script(out):
                out.append("{}")  # Q_hat_h: a second subscript on the same base
            out.append(t)
            if nxt == "(" and _matching(expr, pos[n + 1]) > 0:
                close = _matching(expr, pos[n + 1])
                out.append("{(" + to_latex(expr[pos[n + 1] + 1:close]) + ")}")
                n = _skip_to(pos, close + 1)
                continue
            if nxt == "{":
                groups.append(True)
                out.append("{")
                n += 2
                continue
            if nxt == "-" and n + 2 < len(toks):
                out.append("{-" + _atom(toks[n + 2], True) + "}")
                n += 3
                continue
            if nxt and nxt.strip():
                out.append("{" + _atom(nxt, t == "_") + "}")
                n += 2
                continue
        elif t == "{":
            groups.append(False)
            out.append(r"\{")
        elif t == "}":
            out.append("}" if (groups.pop() if groups else False) else r"\}")
        elif t == "*":
            star = prev[-1:].isalnum() or prev in (")", "]")
            out.append("^{*}" if star and not nxt[:1].isalnum() else r"\cdot ")
        elif t == "O~":
            out.append(r"\tilde{O}")
        elif t == "inf":
            out.append(r"\inf " if nxt == "_" else r"\infty ")
        elif t[:1].isalpha() and nxt == "_" and n + 2 < len(toks) and toks[n + 2] in _ACCENTS:
            out.append(f"{_ACCENTS[toks[n + 2]]}{{{_identifier(t, False).strip()}}}")
            n += 3
            continue
        elif t == "E" and (nxt in ("[", "_", "^") or nxt == " " and toks[n + 2:n + 3] != []
                           and toks[n + 2][:1].isalpha()):
            out.append(r"\mathbb{E}")
        elif t == "in":
            out.append(r"\in ")
        elif re.fullmatch(r"\d+(\.\d+)?e-?\d+", t):
            mant, ex = t.split("e")
            out.append(("" if mant == "1" else mant + r"\times ") + f"10^{{{int(ex)}}}")
        elif t[:1].isalpha():
            out.append(_identifier(t, False))
        elif t.isspace():
            out.append(" ")
        else:
            out.append(_OPS.get(t, t))
        n += 1
    return re.sub(r" +", " ", "".join(out)).strip()


_ACCENTS = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde"}


def _last_script(out: list[str]) -> str:
    """The ``^`` or ``_`` of the script group that ``out`` ends with (``""`` if none)."""
    text = "".join(out)
    if not text.endswith("}"):
        return ""
    depth = 0
    for k in range(len(text) - 1, -1, -1):
        depth += {"}": 1, "{": -1}.get(text[k], 0)
        if depth == 0:
            return text[k - 1] if k and text[k - 1] in "^_" else ""
    return ""


def _atom(tok: str, sub: bool) -> str:
    if tok == "inf":
        return r"\infty"
    if tok[:1].isalpha():
        return _identifier(tok, sub).strip()
    return _OPS.get(tok, tok)


def _skip_to(pos: list[int], char: int) -> int:
    for k, p in enumerate(pos):
        if p >= char:
            return k
    return len(pos)
