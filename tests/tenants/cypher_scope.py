"""A small reader of graphmem's Cypher that finds node patterns not scoped to ``$namespace``.

It knows the subset of Cypher the project writes: MATCH, OPTIONAL MATCH and MERGE clauses, patterns inside
``EXISTS { ... }`` and ``COUNT { ... }``, variables bound by YIELD, and variable-length paths. A node pattern
is scoped when it carries ``namespace: $namespace`` in its property map, or names a variable already scoped
earlier in the query. A node a procedure YIELDs is scoped by a later ``var.namespace = $namespace``; a
variable-length path by ``all(x IN nodes(path) WHERE x.namespace = $namespace)``, which checks the nodes
in between. Anything else is reported, with the clause it sits in.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"//[^\n]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_CLAUSE_START = re.compile(r"\b(OPTIONAL\s+MATCH|MATCH|MERGE)\b|\b(EXISTS|COUNT)\s*\{", re.IGNORECASE)
# A pattern ends at the next clause keyword outside brackets, or at the brace closing its subquery.
_KEYWORD = re.compile(
    r"(WHERE|WITH|RETURN|OPTIONAL|MATCH|ORDER|UNWIND|SET|DELETE|DETACH|MERGE|CALL|LIMIT|UNION|CREATE|ON|YIELD)\b",
    re.IGNORECASE,
)
_OPENERS, _CLOSERS = "([{", ")]}"
_NODE = re.compile(
    r"\(\s*(?P<var>[A-Za-z_]\w*)?\s*(?P<labels>(?::\s*[A-Za-z_]\w*\s*(?:[|&]\s*[A-Za-z_]\w*\s*)*)*)"
    r"(?P<props>\{[^{}]*\})?\s*\)"
)
_SCOPED_PROPS = re.compile(r"[{,]\s*namespace\s*:\s*\$namespace\s*[,}]")
_VAR_LENGTH = re.compile(r"\[[^\]]*\*[^\]]*\]")
_PATH_VAR = re.compile(r"^\s*([A-Za-z_]\w*)\s*=")
_YIELD = re.compile(r"\bYIELD\s+([\w\s,]+?)(?=\bWHERE\b|\bRETURN\b|\bWITH\b|$)", re.IGNORECASE | re.DOTALL)


def clean(text: str) -> str:
    """The query without comments, and with string literals emptied (so that their words are not read)."""
    return _STRING.sub("''", _COMMENT.sub("", text))


def _pattern_end(text: str, start: int) -> int:
    depth = 0
    for at in range(start, len(text)):
        char = text[at]
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
            if depth < 0:
                return at
        elif depth == 0 and not (text[at - 1].isalnum() or text[at - 1] == "_") and _KEYWORD.match(text, at):
            return at
    return len(text)


def patterns(text: str) -> list[tuple[str, str]]:
    """(clause, pattern text) for each pattern of a query, in order."""
    out = []
    for found in _CLAUSE_START.finditer(text):
        clause = " ".join((found.group(1) or found.group(2)).upper().split())
        start = found.end()
        if clause in ("EXISTS", "COUNT"):
            rest = text[start:].lstrip()
            if re.match(r"(OPTIONAL\s+)?MATCH\b", rest, re.IGNORECASE):
                continue  # the MATCH inside is read as a clause of its own
        out.append((clause, text[start : _pattern_end(text, start)]))
    return out


def unscoped(text: str) -> list[str]:
    """What in this query is not scoped to $namespace (empty when every node it reads or merges is)."""
    query = clean(text)
    problems: list[str] = []
    scoped: set[str] = set()
    for clause, pattern in patterns(query):
        for node in _NODE.finditer(pattern):
            var = node.group("var")
            if var is not None and var in scoped:
                continue
            if _SCOPED_PROPS.search(node.group("props") or ""):
                if var is not None:
                    scoped.add(var)
                continue
            problems.append(f"{clause} {' '.join(pattern.split())}: node {node.group(0)!r} is not scoped")
        if _VAR_LENGTH.search(pattern):
            path = _PATH_VAR.match(pattern)
            name = path.group(1) if path else None
            check = rf"all\(\s*(\w+)\s+IN\s+nodes\(\s*{name}\s*\)\s+WHERE\s+\1\.namespace\s*=\s*\$namespace"
            if name is None or not re.search(check, query, re.IGNORECASE):
                problems.append(f"{clause} {' '.join(pattern.split())}: the nodes inside the variable-length path "
                                "are not scoped (name the path and check all(x IN nodes(path) WHERE ...))")  # fmt: skip
    for found in _YIELD.finditer(query):
        rest = query[found.end() :]
        for name in re.findall(r"\w+", found.group(1)):
            is_node = re.search(rf"\b{name}\.\w", rest)  # a yielded value read for its properties
            if is_node and not re.search(rf"\b{name}\.namespace\s*=\s*\$namespace", rest):
                problems.append(f"YIELD {name}: the node a procedure returns is not checked for $namespace")
    return problems
