"""The condition language of the catalogue: when a material or a prerequisite applies.

A small, safe expression language over the typed fields of an item's form, e.g.
`marital_status == "married" and not first_home` or `age < 18 or reason in ["study", "job"]`.
It has its own tokenizer and recursive-descent parser (never `eval`), bounded input length, token
count, nesting depth and literal sizes, a type check against the form, and an evaluator over answers.

Grammar:   expr := and ("or" and)* ;  and := not ("and" not)* ;  not := "not" not | cmp
           cmp  := value (("=="|"!="|"<"|"<="|">"|">="|"in"|"not" "in") value)?
           value := FIELD | "string" | INTEGER | true | false | "(" expr ")" | "[" literal ("," literal)* "]"
A field that was not answered is *absent*: every comparison with it is false, except `!=`, which is true.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from .catalogue import FieldType, FormField

MAX_SOURCE = 500
MAX_TOKENS = 120
MAX_DEPTH = 12
MAX_STRING = 100
MAX_INT_DIGITS = 12
MAX_LIST = 50
_ENUMERATION_LIMIT = 4096  # combinations of finite fields tried when asking "can this ever be true?"

_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_COMPARATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
_ORDERING = {"<", "<=", ">", ">="}


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not fit the form. `code` is stable."""

    def __init__(self, code: str, message_en: str, message_zh: str, position: int | None = None) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_zh = message_zh
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, int, op, kw, lparen, rparen, lbrack, rbrack, comma, end
    text: str
    value: Any
    pos: int


def tokenize(source: str) -> list[Token]:
    if len(source) > MAX_SOURCE:
        raise ConditionError("condition_too_long", f"condition longer than {MAX_SOURCE} characters",
                             f"条件超过 {MAX_SOURCE} 个字符")
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t":
            i += 1
            continue
        start = i
        if ch == '"':
            i += 1
            chars: list[str] = []
            while i < n and source[i] != '"':
                if source[i] == "\\" and i + 1 < n and source[i + 1] in '"\\':
                    i += 1
                chars.append(source[i])
                i += 1
            if i >= n:
                raise ConditionError("unterminated_string", "unterminated string literal", "字符串未闭合", start)
            i += 1
            text = "".join(chars)
            if len(text) > MAX_STRING:
                raise ConditionError("literal_too_long", f"string literal longer than {MAX_STRING} characters",
                                     f"字符串常量超过 {MAX_STRING} 个字符", start)
            tokens.append(Token("string", source[start:i], text, start))
        elif (ch.isascii() and ch.isdigit()) or (ch == "-" and i + 1 < n and source[i + 1].isascii()
                                                 and source[i + 1].isdigit()):
            i += 1
            while i < n and source[i].isascii() and source[i].isdigit():
                i += 1
            text = source[start:i]
            if len(text.lstrip("-")) > MAX_INT_DIGITS:
                raise ConditionError("literal_too_long", f"integer literal longer than {MAX_INT_DIGITS} digits",
                                     f"整数常量超过 {MAX_INT_DIGITS} 位", start)
            tokens.append(Token("int", text, int(text), start))
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            while i < n and source[i].isascii() and (source[i].isalnum() or source[i] == "_"):
                i += 1
            word = source[start:i]
            tokens.append(Token("kw" if word in _KEYWORDS else "name", word, word, start))
        elif source.startswith(("==", "!=", "<=", ">="), i):
            tokens.append(Token("op", source[i:i + 2], source[i:i + 2], start))
            i += 2
        elif ch in "<>":
            tokens.append(Token("op", ch, ch, start))
            i += 1
        elif ch in "()[],":
            kind = {"(": "lparen", ")": "rparen", "[": "lbrack", "]": "rbrack", ",": "comma"}[ch]
            tokens.append(Token(kind, ch, ch, start))
            i += 1
        else:
            shown = ch if ch.isprintable() else repr(ch)
            raise ConditionError("unknown_operator", f"unexpected character {shown!r} at {start}",
                                 f"第 {start} 个字符“{shown}”不是条件语言的一部分", start)
        if len(tokens) > MAX_TOKENS:
            raise ConditionError("condition_too_complex", f"more than {MAX_TOKENS} tokens",
                                 f"条件超过 {MAX_TOKENS} 个记号")
    tokens.append(Token("end", "", None, n))
    return tokens


# -- syntax tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any  # str | int | bool


@dataclass(frozen=True)
class ListLit:
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, what: str) -> Token:
        tok = self.take()
        if tok.kind != kind:
            raise _syntax(tok, what)
        return tok

    def nest(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError("condition_too_deep", f"nesting deeper than {MAX_DEPTH}",
                                 f"条件嵌套超过 {MAX_DEPTH} 层", tok.pos)

    def parse(self) -> Any:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise _syntax(tok, "end of condition")
        return node

    def expr(self) -> Any:
        parts = [self.conj()]
        while self.peek().kind == "kw" and self.peek().value == "or":
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conj(self) -> Any:
        parts = [self.neg()]
        while self.peek().kind == "kw" and self.peek().value == "and":
            self.take()
            parts.append(self.neg())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def neg(self) -> Any:
        tok = self.peek()
        if tok.kind == "kw" and tok.value == "not":
            self.take()
            self.nest(tok)
            node = Not(self.neg())
            self.depth -= 1
            return node
        return self.cmp()

    def cmp(self) -> Any:
        left = self.value()
        tok = self.peek()
        op: str | None = None
        if tok.kind == "op":
            op = self.take().value
        elif tok.kind == "kw" and tok.value == "in":
            self.take()
            op = "in"
        elif tok.kind == "kw" and tok.value == "not" and self.tokens[self.i + 1].value == "in":
            self.i += 2
            op = "not in"
        if op is None:
            return left
        return Compare(op, left, self.value())

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "name":
            return Field(tok.value)
        if tok.kind in ("string", "int"):
            return Literal(tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return Literal(tok.value == "true")
        if tok.kind == "lparen":
            self.nest(tok)
            node = self.expr()
            self.expect("rparen", "')'")
            self.depth -= 1
            return node
        if tok.kind == "lbrack":
            values: list[Any] = []
            while True:
                item = self.take()
                if item.kind in ("string", "int"):
                    values.append(item.value)
                elif item.kind == "kw" and item.value in ("true", "false"):
                    values.append(item.value == "true")
                else:
                    raise _syntax(item, "a literal in the list")
                if len(values) > MAX_LIST:
                    raise ConditionError("literal_too_long", f"list longer than {MAX_LIST} elements",
                                         f"列表超过 {MAX_LIST} 个元素", tok.pos)
                sep = self.take()
                if sep.kind == "rbrack":
                    return ListLit(tuple(values))
                if sep.kind != "comma":
                    raise _syntax(sep, "',' or ']'")
        raise _syntax(tok, "a field, a literal or '('")


def _syntax(tok: Token, expected: str) -> ConditionError:
    found = "end of condition" if tok.kind == "end" else repr(tok.text)
    return ConditionError("condition_syntax", f"expected {expected} at {tok.pos}, found {found}",
                          f"第 {tok.pos} 个字符处语法错误：应为 {expected}，实为 {found}", tok.pos)


def parse(source: str) -> Any:
    """The syntax tree of a condition, or ConditionError. Never evaluates anything."""
    if not source.strip():
        raise ConditionError("condition_empty", "empty condition", "条件为空")
    return _Parser(tokenize(source)).parse()


# -- type check against the form -------------------------------------------------------------------
def _kind_of_field(f: FormField) -> str:
    return {FieldType.INTEGER: "int", FieldType.BOOLEAN: "bool", FieldType.DATE: "date"}.get(f.type, "str")


def _literal_kind(value: Any) -> str:
    return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "str"


def check(source: str, form: tuple[FormField, ...] | list[FormField]) -> tuple[Any, list[ConditionError]]:
    """Parse and type-check; returns (tree or None, every problem found)."""
    try:
        tree = parse(source)
    except ConditionError as exc:
        return None, [exc]
    fields = {f.name: f for f in form}
    problems: list[ConditionError] = []
    _check_bool(tree, fields, problems)
    return (tree if not problems else None), problems


def _check_bool(node: Any, fields: dict[str, FormField], problems: list[ConditionError]) -> None:
    if isinstance(node, BoolOp):
        for operand in node.operands:
            _check_bool(operand, fields, problems)
    elif isinstance(node, Not):
        _check_bool(node.operand, fields, problems)
    elif isinstance(node, Compare):
        _check_compare(node, fields, problems)
    elif isinstance(node, Field):
        f = fields.get(node.name)
        if f is None:
            problems.append(_unknown_field(node.name))
        elif f.type is not FieldType.BOOLEAN:
            problems.append(ConditionError("condition_type", f"field {node.name!r} is not a yes/no field",
                                           f"字段 {node.name} 不是是/否字段，不能单独作为条件"))
    elif isinstance(node, Literal) and isinstance(node.value, bool):
        return
    else:
        problems.append(ConditionError("condition_type", "a condition must be true or false",
                                       "条件的结果必须是“是”或“否”"))


def _unknown_field(name: str) -> ConditionError:
    return ConditionError("condition_unknown_field", f"unknown form field {name!r}", f"表单中没有字段 {name}")


def _check_compare(node: Compare, fields: dict[str, FormField], problems: list[ConditionError]) -> None:
    if not isinstance(node.left, Field):
        problems.append(ConditionError("condition_type", "the left side of a comparison must be a form field",
                                       "比较的左边必须是表单字段"))
        return
    f = fields.get(node.left.name)
    if f is None:
        problems.append(_unknown_field(node.left.name))
        return
    kind = _kind_of_field(f)
    if node.op in ("in", "not in"):
        if not isinstance(node.right, ListLit):
            problems.append(ConditionError("condition_type", f"{node.op!r} needs a list on the right",
                                           f"{node.op} 的右边必须是列表"))
            return
        values = node.right.values
    elif isinstance(node.right, Literal):
        values = (node.right.value,)
    else:
        problems.append(ConditionError("condition_type", "the right side of a comparison must be a literal",
                                       "比较的右边必须是常量"))
        return
    for value in values:
        vkind = _literal_kind(value)
        if kind == "date":
            if vkind != "str" or _as_date(value) is None:
                problems.append(ConditionError("condition_type", f"{value!r} is not a date (YYYY-MM-DD)",
                                               f"{value!r} 不是日期（YYYY-MM-DD）"))
        elif vkind != kind:
            problems.append(ConditionError(
                "condition_type", f"field {f.name!r} is {f.type.value}, compared with {value!r}",
                f"字段 {f.name} 的类型是 {f.type.value}，不能与 {value!r} 比较"))
        elif f.type is FieldType.ENUM and value not in {c.value for c in f.choices}:
            problems.append(ConditionError(
                "condition_unknown_choice", f"{value!r} is not a choice of field {f.name!r}",
                f"{value!r} 不是字段 {f.name} 的可选值"))
    if node.op in _ORDERING and kind not in ("int", "date"):
        problems.append(ConditionError("condition_type", f"{node.op!r} compares numbers or dates only",
                                       f"{node.op} 只能比较数字或日期"))


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


# -- evaluation --------------------------------------------------------------------------------------
_ABSENT = object()


def evaluate(tree: Any, answers: dict[str, Any]) -> bool:
    """Evaluate a checked tree over (validated) answers. Iterative over BoolOp chains; depth is bounded."""
    if isinstance(tree, BoolOp):
        if tree.op == "and":
            return all(evaluate(t, answers) for t in tree.operands)
        return any(evaluate(t, answers) for t in tree.operands)
    if isinstance(tree, Not):
        return not evaluate(tree.operand, answers)
    if isinstance(tree, Literal):
        return bool(tree.value)
    if isinstance(tree, Field):
        return answers.get(tree.name) is True
    assert isinstance(tree, Compare) and isinstance(tree.left, Field)
    left = answers.get(tree.left.name, _ABSENT)
    if left is _ABSENT or left is None:
        return tree.op == "!="
    if tree.op in ("in", "not in"):
        values = tree.right.values
        if isinstance(left, date):
            values = tuple(_as_date(v) for v in values)
        found = left in values
        return found if tree.op == "in" else not found
    right = tree.right.value
    if isinstance(left, date):
        right = _as_date(right)
    if tree.op == "==":
        return bool(left == right)
    if tree.op == "!=":
        return bool(left != right)
    if tree.op == "<":
        return bool(left < right)
    if tree.op == "<=":
        return bool(left <= right)
    if tree.op == ">":
        return bool(left > right)
    return bool(left >= right)


def fields_of(tree: Any) -> set[str]:
    if isinstance(tree, BoolOp):
        return set().union(*(fields_of(t) for t in tree.operands))
    if isinstance(tree, Not):
        return fields_of(tree.operand)
    if isinstance(tree, Field):
        return {tree.name}
    if isinstance(tree, Compare):
        return fields_of(tree.left)
    return set()


def literals_for(tree: Any, name: str) -> set[Any]:
    """Every literal a field is compared with (to build the candidate values of open fields)."""
    if isinstance(tree, BoolOp):
        return set().union(*(literals_for(t, name) for t in tree.operands))
    if isinstance(tree, Not):
        return literals_for(tree.operand, name)
    if isinstance(tree, Compare) and isinstance(tree.left, Field) and tree.left.name == name:
        return set(tree.right.values) if isinstance(tree.right, ListLit) else {tree.right.value}
    return set()


def satisfiable(tree: Any, form: tuple[FormField, ...] | list[FormField]) -> bool | None:
    """Can the condition ever be true? True/False when decided by trying every relevant value of every
    field it reads (finite fields: their choices; open fields: each literal they are compared with,
    its neighbours and a value unlike any); None when there are too many combinations to try."""
    fields = {f.name: f for f in form}
    domains: list[list[Any]] = []
    names = sorted(fields_of(tree))
    for name in names:
        f = fields[name]
        domain: list[Any] = [_ABSENT] if not f.required else []
        if f.type is FieldType.BOOLEAN:
            domain += [True, False]
        elif f.type is FieldType.ENUM:
            domain += [c.value for c in f.choices]
        else:
            lits = literals_for(tree, name)
            if f.type is FieldType.INTEGER:
                ints = {v for v in lits if isinstance(v, int) and not isinstance(v, bool)}
                cands = {v + d for v in ints for d in (-1, 0, 1)} | {0}
                domain += sorted(v for v in cands if (f.minimum is None or v >= f.minimum)
                                 and (f.maximum is None or v <= f.maximum)) or [f.minimum or 0]
            elif f.type is FieldType.DATE:
                days = {day for v in lits if (day := _as_date(v)) is not None}
                domain += sorted({date.fromordinal(day.toordinal() + k) for day in days for k in (-1, 0, 1)}
                                 | {date(2000, 1, 1)})
            else:
                domain += [*sorted(str(v) for v in lits), "\u0000other"]
        domains.append(domain)
    total = 1
    for candidates in domains:
        total *= max(1, len(candidates))
        if total > _ENUMERATION_LIMIT:
            return None
    for combo in itertools.product(*domains):
        answers = {n: v for n, v in zip(names, combo, strict=True) if v is not _ABSENT}
        if evaluate(tree, answers):
            return True
    return False


# -- answers ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnswerProblem:
    code: str
    field: str
    message_zh: str
    message_en: str


def validate_answers(form: tuple[FormField, ...], answers: dict[str, Any]) -> tuple[dict[str, Any],
                                                                                      list[AnswerProblem]]:
    """Typed answers plus every problem at once: unknown fields, missing required ones, wrong types,
    values outside the choices or range. Values are never echoed in messages (they may be personal)."""
    fields = {f.name: f for f in form}
    typed: dict[str, Any] = {}
    problems: list[AnswerProblem] = []
    for name in sorted(set(answers) - fields.keys()):
        shown = name if len(name) <= 40 and name.isprintable() else name[:40] + "…"
        problems.append(AnswerProblem("answer_unknown_field", shown, "表单中没有这个字段",
                                      "The form has no such field"))
    for f in form:
        if f.name not in answers or answers[f.name] is None:
            if f.required:
                problems.append(AnswerProblem("answer_required", f.name, f"请填写“{f.label_zh}”",
                                              f"{f.label_en} is required"))
            continue
        value = answers[f.name]
        ok, coerced = _coerce(f, value)
        if not ok:
            problems.append(AnswerProblem("answer_invalid", f.name, f"“{f.label_zh}”的值无效：{coerced}",
                                          f"{f.label_en}: {_EN_REASON.get(coerced, coerced)}"))
        else:
            typed[f.name] = coerced
    return typed, problems


_EN_REASON = {"应为文字": "must be text", "应为整数": "must be an integer", "应为是或否": "must be true or false",
              "不是可选值": "is not one of the choices", "应为日期 YYYY-MM-DD": "must be a date YYYY-MM-DD",
              "超出范围": "is out of range", "过长": "is too long"}


def _coerce(f: FormField, value: Any) -> tuple[bool, Any]:
    if f.type is FieldType.BOOLEAN:
        return (True, value) if isinstance(value, bool) else (False, "应为是或否")
    if f.type is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return False, "应为整数"
        if (f.minimum is not None and value < f.minimum) or (f.maximum is not None and value > f.maximum):
            return False, "超出范围"
        return True, value
    if not isinstance(value, str):
        return False, "应为文字"
    if len(value) > f.max_length:
        return False, "过长"
    if f.type is FieldType.ENUM:
        return (True, value) if value in {c.value for c in f.choices} else (False, "不是可选值")
    if f.type is FieldType.DATE:
        d = _as_date(value)
        return (True, d) if d is not None else (False, "应为日期 YYYY-MM-DD")
    return True, value
