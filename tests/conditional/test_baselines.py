"""genlab.conditional.baselines: the name baseline's wording, the retrieval baseline's nearest neighbour."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.conditional.baselines import NameBaseline, RetrievalBaseline, code_tokens, identifier_words
from genlab.errors import DataError, NotFittedError


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("get_file_name", ["get", "file", "name"]),
        ("getFileName", ["get", "file", "name"]),
        ("HTTPResponse", ["http", "response"]),
        ("__init__", ["init"]),
        ("_read_utf8Chunk", ["read", "utf8", "chunk"]),
        ("parse2", ["parse2"]),
        ("x", ["x"]),
        ("__", []),
    ],
)
def test_identifier_words(name, words):
    assert identifier_words(name) == words


def test_code_tokens_keep_identifiers_and_add_their_words():
    assert code_tokens("def readFile(path_name): return 1 + x") == [
        "def", "readfile", "read", "file", "path_name", "path", "name", "return", "x"]


def test_name_baseline():
    sources = ["@cache\ndef get_file_name(self):\n    return self._name",
               "    async def fetchHTTPData(url):\n        pass",
               "x = compute(1)",  # no def: the first identifier
               "1 + 2",
               "def __init__(self):\n    pass"]
    model = NameBaseline()
    with pytest.raises(NotFittedError, match="NameBaseline is not fitted; call fit"):
        model.generate(sources)
    assert model.fit(["def f(): pass"], ["Do f."]) is model
    assert model.generate(sources) == ["Return the get file name.", "Return the fetch http data.", "Return the x.",
                                       "Return the value.", "Return the init."]


SOURCES = [
    "def read_file(path):\n    with open(path) as handle:\n        return handle.read()",
    "def send_packet(sock, packet):\n    sock.sendall(packet)",
    "def parse_header(line):\n    key, value = line.split(':')\n    return key.strip(), value.strip()",
    "def sort_items(items):\n    return sorted(items)",
]
TARGETS = ["Read a file.", "Send a packet.", "Parse a header line.", "Sort the items."]


def test_retrieval_copies_the_nearest_training_target():
    model = RetrievalBaseline()
    with pytest.raises(NotFittedError, match="RetrievalBaseline is not fitted; call fit"):
        model.generate(SOURCES)
    assert model.fit(SOURCES, TARGETS) is model
    assert model.generate(SOURCES) == TARGETS  # each training source is its own nearest neighbour
    # camelCase and snake_case share words: readFile finds read_file, sendPacket finds send_packet
    queries = ["def readFile(p):\n    return open(p).read()", "def sendPacket(s, data):\n    s.sendall(data)",
               "def headerParse(text):\n    return text.split(':')"]
    assert model.generate(queries) == ["Read a file.", "Send a packet.", "Parse a header line."]
    assert model.generate(["42"]) == ["Read a file."]  # no known token: every similarity is 0, the first pair wins


def test_retrieval_agrees_with_a_dense_cosine_in_any_batch_size():
    rng = np.random.default_rng(0)
    vocabulary = ["alpha", "beta_gamma", "deltaEpsilon", "zeta", "eta_theta", "iota"]
    sources = [" ".join(rng.choice(vocabulary, size=5)) for _ in range(12)]
    targets = [f"Target {i}." for i in range(12)]
    queries = [" ".join(rng.choice(vocabulary, size=3)) for _ in range(9)]
    model = RetrievalBaseline().fit(sources, targets)
    train = model.vectorizer_.transform(sources).toarray()
    query = model.vectorizer_.transform(queries).toarray()
    cosine = (query @ train.T) / np.maximum(
        np.linalg.norm(query, axis=1)[:, None] * np.linalg.norm(train, axis=1)[None, :], 1e-300)
    expected = [targets[i] for i in cosine.argmax(axis=1)]
    assert model.generate(queries, batch_size=2) == expected == model.generate(queries)


@pytest.mark.parametrize("model", [RetrievalBaseline(), NameBaseline()])
def test_bad_pairs(model):
    with pytest.raises(DataError, match="2 sources for 1 targets; give one target per source"):
        model.fit(["a", "b"], ["A."])
    with pytest.raises(DataError, match=r"no training pairs; give at least one \(source, target\) pair"):
        model.fit([], [])
    with pytest.raises(DataError, match=r"targets\[0\] is not a string \(got int\)"):
        model.fit(["a"], [3])
    with pytest.raises(DataError, match="sources must be a list of strings; got a single string"):
        model.fit("abc", ["A.", "B.", "C."])


def test_retrieval_needs_identifiers():
    with pytest.raises(DataError, match="no training source holds an identifier; give code as sources"):
        RetrievalBaseline().fit(["1 + 2", "()"], ["A.", "B."])
