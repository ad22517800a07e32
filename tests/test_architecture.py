"""The house's arrows point one way: no module of optlab imports one that imports it back, and the rooms keep
their order (the report reads records, never the sweep or a run; a run knows nothing of the sweep)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "optlab"
LONG = 250  # lines; a longer module says why in its opening docstring, in a sentence that begins "Kept whole:"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(name: str) -> set[str]:
    """The optlab modules name imports, at its top or inside a function, but not for type checking alone."""
    tree = ast.parse(MODULES[name].read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("optlab"):
            targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                       for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names if alias.name.startswith("optlab")]
        else:
            continue
        if not _type_checking_only(node, parents):
            found.update(target for target in targets if target in MODULES and target != name)
    return found


GRAPH = {name: imports(name) for name in MODULES}


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def room(name: str) -> str:
    """A module's room: its sub-package, or the module itself at the top of optlab."""
    return name.split(".")[1] if name.count(".") else name


def test_the_graph_is_read():
    assert "optlab.report.document" in GRAPH and GRAPH["optlab.report.document"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_one_that_imports_it_back(name: str):
    back = sorted(target for target in GRAPH[name] if name in reachable(target))
    assert not back, f"{name} imports {back}, which import it back"


def test_no_room_imports_a_room_that_imports_it_back():
    rooms: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        rooms.setdefault(room(name), set()).update(room(target) for target in targets if room(target) != room(name))
    cycles = sorted((a, b) for a in rooms for b in rooms[a] if a < b and a in rooms.get(b, set()))
    assert not cycles, f"rooms that import each other: {cycles}"


@pytest.mark.parametrize(("reader", "forbidden"), [
    ("report", {"sweep", "run", "runner", "cli"}),
    ("run", {"sweep", "report", "cli"}),
    ("search", {"sweep", "report", "run", "runner", "cli"}),
])
def test_a_room_reads_only_the_rooms_below_it(reader: str, forbidden: set[str]):
    wrong = sorted((name, target) for name, targets in GRAPH.items() if room(name) == reader
                   for target in targets if room(target) in forbidden)
    assert not wrong, wrong


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_long_module_says_why_it_is_long(name: str):
    text = MODULES[name].read_text()
    if len(text.splitlines()) <= LONG:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    lines = len(text.splitlines())
    assert "Kept whole:" in docstring, f"{name} has {lines} lines and no 'Kept whole:' reason in its docstring"


def test_the_records_import_nothing_else_of_optlab():
    outside = sorted((name, target) for name, targets in GRAPH.items() if room(name) == "records"
                     for target in targets if room(target) != "records")
    assert not outside, outside
