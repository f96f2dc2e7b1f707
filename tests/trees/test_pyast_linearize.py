"""genlab.trees.python_ast: the standard-library corpus, the ASDL grammar, linearisation and its inverse."""

from __future__ import annotations

import ast
import os
import zlib

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    END_TOKEN,
    FREE,
    MUST_CLOSE,
    NEEDS_ITEM,
    NONE_TOKEN,
    RESTRICTIONS,
    ROOT_SLOT,
    START_TOKEN,
    STR_ONLY,
    TOP_SLOT,
    TreeBuilder,
    ValueVocabulary,
    as_modules,
    decode_value,
    linearize,
    n_nodes,
    python_asts,
    read_python_sources,
    unlinearize,
    valid_source,
)

SOURCE = '''
"""Doc."""
import os, sys as system
from . import a
from ..pkg import b as c
x: int = 1
def f(a, /, b=2, *args, c, d=3, **kw) -> None:
    global g
    return {**kw, 'k': 1.5, None: b'x'}
class C(Base, metaclass=M):
    @dec
    async def m(self):
        async with x as y, z:
            await y
        async for i in y:
            yield i
while not x < 3 <= y:
    del x[1:2, ::3]
try:
    pass
except* ValueError as e:
    raise E from e
match p:
    case [1, *rest] if rest:
        pass
    case {"k": v, **others} if v > 0:
        pass
    case Point(x=0, y=None) | None:
        pass
print(f"{x!r:>{w}} {y}", 1j, 1e999, ..., -5, lambda q: q ** 2)
'''


@pytest.fixture(scope="module")
def small():
    return python_asts(max_files=20)


def _tokens_are_allowed(lin, vocabulary):
    return all(tok in AST_GRAMMAR.allowed(slot, vocabulary) for slot, tok in zip(lin.slots, lin.tokens, strict=True))


def test_grammar_matches_ast_classes():
    fd = AST_GRAMMAR.node_types["FunctionDef"]
    assert [(f.name, f.kind, f.type_name, f.multiplicity) for f in fd] == [
        ("name", "value", "identifier", ""), ("args", "node", "arguments", ""), ("body", "node", "stmt", "*"),
        ("decorator_list", "node", "expr", "*"), ("returns", "node", "expr", "?"),
        ("type_comment", "value", "string", "?")]
    assert set(AST_GRAMMAR.concrete("expr_context")) == {"Load", "Store", "Del"}
    assert "Pass" in AST_GRAMMAR.concrete("stmt") and "Name" in AST_GRAMMAR.concrete("expr")
    for name, fields in AST_GRAMMAR.node_types.items():
        assert tuple(f.name for f in fields) == getattr(ast, name)._fields
    assert AST_GRAMMAR.slots[0] == ROOT_SLOT and AST_GRAMMAR.slot_id("FunctionDef.body") > 0
    assert AST_GRAMMAR.allowed("FunctionDef.returns")[-1] == NONE_TOKEN
    assert AST_GRAMMAR.allowed("Module.body")[-1] == END_TOKEN
    assert AST_GRAMMAR.allowed(ROOT_SLOT) == ("Module",)
    with pytest.raises(ParameterError, match=r"unknown slot 'Nope\.x'"):
        AST_GRAMMAR.field("Nope.x")
    with pytest.raises(ParameterError, match="ValueVocabulary"):
        AST_GRAMMAR.allowed("Name.id")


def test_linearize_tiny_module_by_hand():
    lin = linearize(ast.parse("import os"))
    assert lin.tokens == ["Module", "Import", "alias", "$'os'", "$None", END_TOKEN, END_TOKEN, END_TOKEN]
    assert lin.slots == [ROOT_SLOT, "Module.body", "Import.names", "alias.name", "alias.asname", "Import.names",
                         "Module.body", "Module.type_ignores"]
    assert lin.parents.tolist() == [-1, 0, 1, 2, 2, 1, 0, 0]
    assert lin.parent_slots == [TOP_SLOT, ROOT_SLOT, "Module.body", "Import.names", "Import.names", "Module.body",
                                ROOT_SLOT, ROOT_SLOT]
    assert lin.siblings == [START_TOKEN, START_TOKEN, START_TOKEN, START_TOKEN, START_TOKEN, "alias", "Import",
                            START_TOKEN]
    assert lin.positions.tolist() == [0, 0, 0, 0, 0, 1, 1, 0]
    assert lin.depths.tolist() == [0, 1, 2, 3, 3, 2, 1, 1]
    assert lin.kinds.tolist() == [0, 0, 0, 2, 2, 1, 1, 1]
    assert lin.is_value.tolist() == [False, False, False, True, True, False, False, False]
    assert lin.n_nodes == 3 == n_nodes(ast.parse("import os"))
    assert [AST_GRAMMAR.slots[i] for i in lin.slot_ids] == lin.slots


def test_round_trip_of_every_construct():
    module = ast.parse(SOURCE)
    lin = linearize(module)
    assert ast.dump(unlinearize(lin.tokens)) == ast.dump(module)
    assert lin.n_nodes == n_nodes(module)
    assert NONE_TOKEN in [t for s, t in zip(lin.slots, lin.tokens, strict=True) if s == "Dict.keys"]
    # the rebuilt module unparses to the same source as the original and compiles
    rebuilt = unlinearize(lin.tokens)
    assert ast.unparse(rebuilt) == ast.unparse(module)
    compile(rebuilt, "<rebuilt>", "exec")


def test_round_trip_on_stdlib_sample(small):
    assert len(small.train) + len(small.test) + len(small.skipped) == 20
    for module in small.train + small.test:
        lin = linearize(module)
        assert ast.dump(unlinearize(lin.tokens)) == ast.dump(module)
        assert lin.n_nodes == n_nodes(module)


@pytest.mark.slow
def test_round_trip_on_whole_stdlib():
    data = python_asts()
    for module in data.train + data.test:
        assert ast.dump(unlinearize(linearize(module).tokens)) == ast.dump(module)


def test_builder_contexts_match_linearize():
    lin = linearize(ast.parse(SOURCE))
    builder = TreeBuilder()
    for i, token in enumerate(lin.tokens):
        c = builder.context()
        assert (c.slot, c.parent, c.parent_slot, c.sibling, c.position, c.depth) == (
            lin.slots[i], lin.parents[i], lin.parent_slots[i], lin.siblings[i], lin.positions[i], lin.depths[i])
        assert builder.push(token) == c
    assert builder.done and builder.n_nodes == lin.n_nodes


def test_builder_refuses_disallowed_tokens():
    builder = TreeBuilder()
    with pytest.raises(DataError, match=r"token 'Pass' is not allowed in slot <root> \(decision 0\); allowed: Module"):
        builder.push("Pass")
    builder.push("Module")
    with pytest.raises(DataError, match=r"token 'Name' is not allowed in slot Module\.body"):
        builder.push("Name")  # an expression is not a statement
    with pytest.raises(DataError, match=r"not allowed in slot Module\.body"):
        builder.push(NONE_TOKEN)  # only Dict.keys and arguments.kw_defaults hold None items
    builder.push("Global")
    with pytest.raises(DataError, match=r"not allowed in slot Global\.names"):
        builder.push("$3")  # an identifier is a str
    builder.push("$'g'")
    for token in (END_TOKEN, END_TOKEN):
        builder.push(token)
    with pytest.raises(DataError, match="ended after 5 decisions with the tree incomplete"):
        builder.result()
    builder.push(END_TOKEN)
    assert ast.unparse(builder.result()) == "global g"
    with pytest.raises(DataError, match="the tree is complete"):
        builder.push(END_TOKEN)
    with pytest.raises(DataError, match="the tree is complete after 6 tokens but 7 were given"):
        unlinearize([*linearize(ast.parse("global g")).tokens, END_TOKEN])


def test_vocabulary_unknowns_and_allowed_sets(small):
    vocabulary = ValueVocabulary.build(small.train, min_count=2)
    module = ast.parse("zzz_rare_name = 'a rare string' + 123456789 + 2.5e-300 + b'\\x01rare' + 3j")
    lin = linearize(module, vocabulary)
    values = [t for t, k in zip(lin.tokens, lin.kinds, strict=True) if k == 2]
    # the name, then each constant's value and its kind (None), then the assignment's type comment (None)
    assert values == ["$<unk:str>", "$<unk:str>", "$None", "$<unk:int>", "$None", "$<unk:float>", "$None",
                      "$<unk:bytes>", "$None", "$<unk:complex>", "$None", "$None"]
    rebuilt = unlinearize(lin.tokens, vocabulary)
    assert ast.unparse(rebuilt) == "unk = 'unk' + 0 + 0.0 + b'' + 0j"
    # every token of real trees is in its slot's allowed set
    for module in [*small.test[:5], ast.parse(SOURCE)]:
        assert _tokens_are_allowed(linearize(module, vocabulary), vocabulary)
    # values are kept per ASDL type, each by its own count
    vocab = ValueVocabulary.build(["a = 'b'\na = 'b'\nprint(a)"], min_count=2)
    assert "$'a'" in vocab.tokens["identifier"] and "$'b'" in vocab.tokens["constant"]
    assert "$'b'" not in vocab.tokens["identifier"] and "$'print'" not in vocab.tokens["identifier"]
    assert vocab.allowed("identifier", True)[:2] == ("$None", "$<unk:str>")
    assert vocab == ValueVocabulary.from_dict(vocab.to_dict())
    with pytest.raises(ParameterError, match="min_count must be an integer >= 1"):
        ValueVocabulary.build(["a = 1"], min_count=0)


def test_decode_value_special_reprs():
    for value in (float("inf"), complex(0, float("inf")), complex(1, float("inf")), ..., -0.5, b"\x00", "é", True):
        token = "$" + repr(value)
        assert repr(decode_value(token)) == repr(value)
    with pytest.raises(DataError, match="does not hold a Python literal"):
        decode_value("$os.system")


def test_split_is_by_file_disjoint_and_deterministic(small):
    again = python_asts(max_files=20)
    assert again.train_files == small.train_files and again.test_files == small.test_files
    assert not set(small.train_files) & set(small.test_files)
    assert all(zlib.crc32(f.encode()) % 1000 < 100 for f in small.test_files)
    assert all(zlib.crc32(f.encode()) % 1000 >= 100 for f in small.train_files)
    assert len(small.train) == len(small.train_files) and len(small.test) == len(small.test_files)
    # each file keeps its split in the full listing; split= gives one list
    assert len(python_asts("test", max_files=20)) == len(small.test)
    with pytest.raises(ParameterError, match="split must be 'train', 'test' or None"):
        python_asts("valid")


def test_library_root_with_unparsable_file_is_skipped_and_counted(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "good.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "bad.py").write_text("def (:\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "skipme.py").write_text("y = 2\n")
    data = python_asts(root=tmp_path)
    assert sorted(data.train_files + data.test_files) == ["pkg/good.py"]
    assert [path for path, _ in data.skipped] == ["pkg/bad.py"]
    assert data.skipped[0][1].startswith("SyntaxError")


def test_read_python_sources(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("import os\n")
    (tmp_path / "sub" / "b.py").write_text("x = '\\d'\n")  # an invalid escape warns at parse time: not an error
    (tmp_path / "sub" / "broken.py").write_text("class :\n")
    (tmp_path / "notes.txt").write_text("not python")
    sources = read_python_sources(tmp_path)
    assert [os.path.relpath(f, tmp_path) for f in sources.files] == ["a.py", os.path.join("sub", "b.py")]
    assert len(sources) == 2 and len(sources.skipped) == 1 and sources.skipped[0][0].endswith("broken.py")
    with pytest.raises(DataError, match=r"broken.py does not parse \(SyntaxError"):
        read_python_sources(tmp_path, strict=True)
    single = read_python_sources(tmp_path / "a.py")
    assert ast.dump(single.modules[0]) == ast.dump(ast.parse("import os"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("#")
    with pytest.raises(DataError, match=r"holds no \.py files"):
        read_python_sources(empty)
    with pytest.raises(DataError, match="does not exist"):
        read_python_sources(tmp_path / "missing")
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "x.py").write_text("(((\n")
    with pytest.raises(DataError, match=r"none of the 1 \.py files"):
        read_python_sources(only_bad)


def test_as_modules_bad_input():
    modules = as_modules(["x = 1", ast.parse("y = 2")])
    assert [ast.unparse(m) for m in modules] == ["x = 1", "y = 2"]
    with pytest.raises(DataError, match=r"item 1 is not parsable Python source: .*\(line 1\)"):
        as_modules(["x = 1", "def ("])
    with pytest.raises(DataError, match=r"item 0 is a int, not an ast\.Module"):
        as_modules([3])
    with pytest.raises(DataError, match="no syntax trees given"):
        as_modules([])
    with pytest.raises(DataError, match="wrap a single one in a list"):
        as_modules("x = 1")
    with pytest.raises(DataError, match=r"linearize takes an ast\.Module, got Expression"):
        linearize(ast.parse("1", mode="eval"))


def test_decision_counts_are_consistent(small):
    for module in small.train[:3]:
        lin = linearize(module)
        kinds = np.bincount(lin.kinds, minlength=3)
        assert kinds[0] == n_nodes(module)  # type decisions are the nodes ast.walk visits
        assert kinds[2] == sum(1 for t in lin.tokens if t.startswith("$"))
        # every node's list fields close: each emits one "<end>"
        n_list_fields = sum(
            sum(f.multiplicity == "*" for f in AST_GRAMMAR.node_types[type(node).__name__])
            for node in ast.walk(module))
        assert lin.tokens.count(END_TOKEN) == n_list_fields


def _restriction_of(source, slot, nth=0):
    lin = linearize(ast.parse(source))
    return int(lin.restrictions[[i for i, s in enumerate(lin.slots) if s == slot][nth]])


def test_restrictions_follow_the_tree_built_so_far(small):
    assert RESTRICTIONS == (FREE, NEEDS_ITEM, MUST_CLOSE, STR_ONLY)
    assert _restriction_of("def f():\n    pass", "FunctionDef.body") == NEEDS_ITEM  # first statement
    assert _restriction_of("def f():\n    pass", "FunctionDef.body", 1) == FREE  # then "<end>" may come
    assert _restriction_of("{1: 2}", "Dict.values", 0) == NEEDS_ITEM
    assert _restriction_of("{1: 2}", "Dict.values", 1) == MUST_CLOSE  # as many values as keys
    assert _restriction_of("a or b", "BoolOp.values", 1) == NEEDS_ITEM  # two operands at least
    assert _restriction_of("a or b", "BoolOp.values", 2) == FREE
    assert _restriction_of("raise", "Raise.cause") == MUST_CLOSE  # no "from" without an exception
    assert _restriction_of("try:\n    pass\nfinally:\n    pass", "Try.orelse") == MUST_CLOSE
    assert _restriction_of("try:\n    pass\nfinally:\n    pass", "Try.finalbody") == NEEDS_ITEM
    assert _restriction_of("f'{x}y'", "Constant.value") == STR_ONLY
    assert _restriction_of("def f(a, b=1): pass", "arguments.defaults", 1) == FREE  # a second default may come
    assert _restriction_of("def f(a=0, b=1): pass", "arguments.defaults", 2) == MUST_CLOSE  # one per argument
    # the builder refuses what a restriction leaves out, and allowed() says what is left
    builder = TreeBuilder()
    for token in ["Module", "Expr", "Dict", "Constant", "$1", "$None", END_TOKEN]:
        builder.push(token)
    assert builder.context().restriction == NEEDS_ITEM and END_TOKEN not in AST_GRAMMAR.allowed(
        "Dict.values", restriction=NEEDS_ITEM)
    with pytest.raises(DataError, match=r"token '<end>' is not allowed in slot Dict\.values"):
        builder.push(END_TOKEN)
    for token in ["Constant", "$2", "$None"]:
        builder.push(token)
    assert builder.allowed() == (END_TOKEN,)
    with pytest.raises(DataError, match=r"token 'Name' is not allowed in slot Dict\.values .*allowed: <end>$"):
        builder.push("Name")
    builder.push(END_TOKEN)
    builder.push(END_TOKEN)
    builder.push(END_TOKEN)
    assert ast.unparse(builder.result()) == "{1: 2}"
    vocabulary = ValueVocabulary.build(["x = f'{a}b'", "y = f'{a}b'", "z = 1", "z = 1"], min_count=1)
    allowed = AST_GRAMMAR.allowed("Constant.value", vocabulary, restriction=STR_ONLY)
    assert "$'b'" in allowed and "$<unk:str>" in allowed and "$1" not in allowed and "$None" not in allowed
    assert not AST_GRAMMAR.allows("Constant.value", "$1", vocabulary, restriction=STR_ONLY)
    with pytest.raises(ParameterError, match="unknown restriction 9"):
        AST_GRAMMAR.allowed("Module.body", restriction=9)
    with pytest.raises(TypeError):
        AST_GRAMMAR.allowed("Module.body", None, NEEDS_ITEM)  # keyword-only: a stale positional fails loudly
    # every decision of real trees is within its restricted set
    vocabulary = ValueVocabulary.build(small.train)
    for module in small.test[:3]:
        lin = linearize(module, vocabulary)
        for slot, token, restriction in zip(lin.slots, lin.tokens, lin.restrictions, strict=True):
            assert token in AST_GRAMMAR.allowed(slot, vocabulary, restriction=int(restriction))


def test_slot_classes_pool_slots_with_equal_allowed_sets():
    vocabulary = ValueVocabulary.build(["x = y", "x = y"], min_count=1)
    groups = {}
    for slot in AST_GRAMMAR.slots:
        groups.setdefault(AST_GRAMMAR.slot_class(slot), set()).add(
            AST_GRAMMAR.allowed(slot, vocabulary))
    assert all(len(sets) == 1 for sets in groups.values())
    assert AST_GRAMMAR.slot_class("BinOp.left") == AST_GRAMMAR.slot_class("Call.func") == "<expr>"
    assert AST_GRAMMAR.slot_class("Dict.keys") == "Dict.keys"


def test_inputs_at_the_limits_of_the_layer():
    # an int literal too long for repr (written in hex) round-trips exactly
    module = ast.parse("x = 0x" + "f" * 4000)
    lin = linearize(module)
    assert unlinearize(lin.tokens).body[0].value.value == module.body[0].value.value
    # a chain too deep for the recursive helpers of ast: linearisation, rebuilding and locations are iterative
    module = ast.parse("x = " + " + ".join(["a"] * 2000))
    lin = linearize(module)
    rebuilt = unlinearize(lin.tokens)
    assert linearize(rebuilt).tokens == lin.tokens
    assert rebuilt.body[0].lineno == 1
    assert valid_source(rebuilt) is None  # ast.unparse overflows: counted invalid, not raised
    assert valid_source(ast.parse("def f():\n    return 1")) is not None
    assert valid_source(ast.parse("return 1")) is None  # parses, but does not compile
