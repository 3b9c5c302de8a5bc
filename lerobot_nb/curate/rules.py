"""A small, safe expression language over the score columns: `idle_fraction > 0.8 and not duplicate`.

```
rule  := or                      or    := and ("or" and)*          and := unary ("and" unary)*
unary := "not" unary | cmp       cmp   := value [(< <= > >= == !=) value | "in" value]
value := NUMBER | 'text' | "text" | true | false | null | NAME | "(" rule ")"
```
A NAME is a score column (`idle_fraction`, `spikes`, `task`, ...) or a flag (`idle_head`, true
when the episode has it). A comparison with a null value (a measure that does not apply, such as
`stale_fraction` on a dataset) is false. Rules are parsed into a tree and evaluated by this
module: nothing is ever passed to `eval`. Names and types are checked against the score columns
when the rule is compiled, so a typo is a one-line error before anything is written.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lerobot_nb.errors import LerobotNbError

__all__ = ["Rule", "compile_rule"]

#: What a column holds, for type checks: the score table's dtypes reduced to these kinds.
Kind = Literal["number", "text", "bool", "list", "null"]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<paren>[()])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_CONSTANTS: dict[str, tuple[Any, Kind]] = {
    "true": (True, "bool"),
    "false": (False, "bool"),
    "null": (None, "null"),
}
_KEYWORDS = {"and", "or", "not", "in"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


# -- the tree ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Const:
    value: Any
    kind: Kind

    def eval(self, row: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True)
class _Name:
    name: str
    kind: Kind
    flag: bool  # a flag name: true when the row's `flags` hold it

    def eval(self, row: Mapping[str, Any]) -> Any:
        return self.name in (row.get("flags") or ()) if self.flag else row.get(self.name)


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node

    def eval(self, row: Mapping[str, Any]) -> bool:
        a: Any = self.left.eval(row)
        b: Any = self.right.eval(row)
        if self.op == "in":
            return a is not None and b is not None and a in b
        if a is None or b is None:
            # `x == null` / `x != null` test for a missing value; any other comparison with one is false
            if _is_null(self.left) or _is_null(self.right):
                return (a is b) == (self.op == "==") if self.op in ("==", "!=") else False
            return False
        return bool(_COMPARE[self.op](a, b))


@dataclass(frozen=True)
class _Bool:
    op: str  # and | or | not
    parts: tuple[_Node, ...]

    def eval(self, row: Mapping[str, Any]) -> bool:
        values = (_truth(p.eval(row)) for p in self.parts)
        if self.op == "not":
            return not next(values)
        return all(values) if self.op == "and" else any(values)


_Node = _Const | _Name | _Compare | _Bool


def _is_null(node: _Node) -> bool:
    return isinstance(node, _Const) and node.kind == "null"


def _truth(value: Any) -> bool:
    return bool(value) if value is not None else False


@dataclass(frozen=True)
class Rule:
    """A compiled rule: `matches(row)` says whether a score row satisfies it."""

    text: str
    tree: _Node
    names: tuple[str, ...]

    def matches(self, row: Mapping[str, Any]) -> bool:
        """True if the rule holds for the score row; a null result counts as False."""
        return _truth(self.tree.eval(row))

    def explain(self, row: Mapping[str, Any]) -> str:
        """The rule with the values it read, e.g. `idle_fraction > 0.8 (idle_fraction = 0.93)`."""
        values = ", ".join(f"{n} = {_show(row.get(n))}" for n in self.names if n in row and n != "flags")
        return f"{self.text} ({values})" if values else self.text


def _show(value: Any) -> str:
    return (
        f"{value:.3g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
    )


# -- parsing -------------------------------------------------------------------------------------
def compile_rule(text: str, columns: Mapping[str, Kind], flags: Sequence[str]) -> Rule:
    """Parse `text` against the score columns (name -> kind) and flag names; one-line errors."""
    parser = _Parser(text, columns, flags)
    tree = parser.rule()
    if parser.peek() is not None:
        parser.fail(f"unexpected `{parser.peek().text}`")  # type: ignore[union-attr]
    kind = _kind_of(tree)
    if kind not in ("bool", "null"):
        raise LerobotNbError(f"rule `{text}` is a {kind}, not a condition: compare it (e.g. `{text} > 0`)")
    return Rule(text, tree, tuple(dict.fromkeys(parser.used)))


def _kind_of(node: _Node) -> Kind:
    if isinstance(node, _Const | _Name):
        return node.kind
    return "bool"


class _Parser:
    """Recursive descent over the tokens of one rule."""

    def __init__(self, text: str, columns: Mapping[str, Kind], flags: Sequence[str]) -> None:
        self.text, self.columns, self.flags = text, columns, set(flags)
        self.tokens = self._tokens(text)
        self.pos = 0
        self.used: list[str] = []

    def fail(self, what: str) -> None:
        raise LerobotNbError(f"rule `{self.text}`: {what}")

    def _tokens(self, text: str) -> list[_Token]:
        out, at = [], 0
        while at < len(text):
            m = _TOKEN.match(text, at)
            if m is None or m.end() == at:
                if text[at:].strip() == "":
                    break
                self.fail(f"cannot read {text[at:].strip()[:20]!r}")
                raise AssertionError  # unreachable: fail raises
            kind = m.lastgroup or ""
            out.append(_Token(kind, m.group(kind), m.start(kind)))
            at = m.end()
        if not out:
            self.fail("empty rule")
        return out

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            self.fail("ends too early" + (f" (expected `{text}`)" if text else ""))
            raise AssertionError
        if text is not None and token.text != text:
            self.fail(f"expected `{text}`, got `{token.text}`")
        self.pos += 1
        return token

    def _at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text == word

    def rule(self) -> _Node:
        return self._chain("or", self._and)

    def _and(self) -> _Node:
        return self._chain("and", self._unary)

    def _chain(self, word: str, part: Callable[[], _Node]) -> _Node:
        parts = [part()]
        while self._at_word(word):
            self.take()
            parts.append(part())
        for p in parts if len(parts) > 1 else ():
            self._condition(p, word)
        return parts[0] if len(parts) == 1 else _Bool(word, tuple(parts))

    def _unary(self) -> _Node:
        if self._at_word("not"):
            self.take()
            inner = self._unary()
            self._condition(inner, "not")
            return _Bool("not", (inner,))
        return self._compare()

    def _condition(self, node: _Node, word: str) -> None:
        kind = _kind_of(node)
        if kind not in ("bool", "null"):
            shown = node.name if isinstance(node, _Name) else repr(getattr(node, "value", ""))
            self.fail(f"`{word}` needs conditions; {shown} is a {kind} (compare it, e.g. `{shown} > 0`)")

    def _compare(self) -> _Node:
        left = self._value()
        token = self.peek()
        if token is not None and (token.kind == "op" or (token.kind == "name" and token.text == "in")):
            self.take()
            right = self._value()
            self._check_types(token.text, left, right)
            return _Compare(token.text, left, right)
        return left

    def _check_types(self, op: str, left: _Node, right: _Node) -> None:
        a, b = _kind_of(left), _kind_of(right)
        if op == "in":
            if b not in ("list", "text") or a not in ("text", "null"):
                self.fail(f"`in` looks for text in a text or list column (got {a} in {b})")
            return
        if "null" in (a, b) or a == b:
            if a == b and a in ("bool", "list", "text") and op not in ("==", "!="):
                self.fail(f"`{op}` compares numbers; a {a} can only be tested with == or !=")
            return
        self.fail(f"cannot compare a {a} with a {b}")

    def _value(self) -> _Node:
        token = self.take()
        if token.kind == "number":
            return _Const(float(token.text), "number")
        if token.kind == "string":
            return _Const(token.text[1:-1], "text")
        if token.text == "(":
            inner = self.rule()
            self.take(")")
            return inner
        if token.kind == "name" and token.text in _CONSTANTS:
            return _Const(*_CONSTANTS[token.text])
        if token.kind == "name" and token.text not in _KEYWORDS:
            return self._name(token.text)
        self.fail(f"expected a value at `{token.text}`")
        raise AssertionError

    def _name(self, name: str) -> _Name:
        self.used.append(name)
        if name in self.columns:
            return _Name(name, self.columns[name], False)
        if name in self.flags:
            return _Name(name, "bool", True)
        close = difflib.get_close_matches(name, [*self.columns, *self.flags], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; columns: {', '.join(self.columns)}"
        self.fail(f"unknown name `{name}`{hint}")
        raise AssertionError
