"""The network of :class:`genlab.trees.tree_neural.NeuralTreeModel`: an LSTM over a syntax tree's pre-order decisions
whose output also reads the parent's state, with a softmax restricted to the tokens the grammar allows.

A syntax tree is generated as its pre-order sequence of decisions (:func:`genlab.trees.python_ast.linearize`): each
node's type, then its fields in order ("<none>" for an absent optional child, "<end>" after a list's items, one token
per identifier or constant). Decision ``i`` sits in a *slot* ``s_i`` ("Parent.field") and has a parent decision
``p(i)`` (the type decision of the node whose field it fills). The network computes

    x_i = E_tok[t_{i-1}] + E_slot[s_i] + E_pslot[s_{p(i)}]             (the previous token, where i is, where p is)
    h_i = LSTM(x_1 .. x_i)                                              (the state passed across the tree)
    u_i = W [h_i ; h_{p(i)+1}] + b                                      (the state passed down)
    p(t_i = v | ...) = softmax over the slot's allowed tokens of (O u_i + c)[v]

Why this shape (after Maddison & Tarlow 2014 and TRANX, Yin & Neubig 2018):

* **Across**: in pre-order, the decision after a node's whole subtree is its next sibling, so the LSTM state that
  reaches a node has seen its left siblings and their subtrees, and every ancestor's earlier fields.
* **Down**: ``h_{p(i)+1}`` is the state right after the LSTM read the parent's type token (position ``p(i) + 1``
  is the parent's first field, never after ``i``), so every child of a node reads the same summary of the node and
  of everything before it, however long the left siblings' subtrees were. A long function body otherwise washes
  the ``FunctionDef`` out of a plain LSTM's state.
* **Where**: the slot ``"Parent.field"`` fixes the parent's type and the field being filled, and the parent's own
  slot adds the grandparent and its field: the count model's grandparent context, given to the network as input,
  so it only has to learn what the counts cannot see (siblings, scopes, names used before).
* **Allowed tokens only**: the logits of tokens the slot does not allow are set to ``-inf`` before the softmax, so
  the model is a proper distribution over valid trees (within the value vocabulary) and sampling cannot produce an
  invalid structure. Structural slots only ever allow node types, "<none>" and "<end>" (the first ``n_structural``
  token ids), so their softmax runs over those ids only; value slots over their group's columns (identifiers,
  constants, ...). The output weights start small, so the initial model is the softmax of the output biases over
  each decision's allowed set: uniform with zero biases (the loss is then the mean log of the allowed-set sizes; a
  test checks it), the add-one unigram with the estimator's default log-count biases.

Segments
--------
A module has up to tens of thousands of decisions, so the model is defined on *segments*: decisions
``k * block_size .. (k + 1) * block_size - 1`` of a tree form segment ``k``, the LSTM starts each segment from a zero
state (it still reads the previous token and both slots at the segment's first decision), and a decision whose parent
state lies in an earlier segment (or that is the root) reads the learned ``root_state``. Training draws whole
segments, scoring runs them, and sampling resets at the same decisions, so the model is trained exactly as it is
scored and sampled (a model trained on random windows but scored on whole modules would be scored in a regime it
never saw: review R13; scored whole-module, the segment-trained weights gave within 0.01 bits per node of the
segment figure on a pilot). The training loop moves one int64 tensor of inputs per batch, so the five inputs of a
decision are packed into bit fields of one int64 (:func:`pack_inputs`); its count of "tokens" is then the count of
decisions trained on.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.errors import ParameterError

__all__ = ["NO_PARENT", "NeuralTreeConfig", "build_tree_network", "config_from_dict", "pack_inputs", "unpack_inputs"]

# bit fields of a packed decision (int64, sign bit unused): previous token 20 bits, slot 12, parent slot 12, distance
# from the decision back to its parent state 15 (NO_PARENT: the parent state is the root state), restriction 3
_TOKEN_BITS, _SLOT_BITS, _DIST_BITS = 20, 12, 15
NO_PARENT = (1 << _DIST_BITS) - 1
_MAX_TOKENS = 1 << _TOKEN_BITS
_MAX_SLOTS = 1 << _SLOT_BITS
_RESTRICTION_SHIFT = _TOKEN_BITS + 2 * _SLOT_BITS + _DIST_BITS
_CHUNK = 2048  # decisions per block of value logits (2048 x 25,000 float32: 200 MB)


@dataclass
class NeuralTreeConfig:
    """Sizes and tables of the tree network (what ``config_`` stores).

    The tables name every slot, every structural token and the value vocabulary, so the configuration alone
    rebuilds the token ids and the allowed-token mask (:func:`genlab.trees.tree_neural.allowed_mask`).
    """

    structural: list[str]  # node type names, then "<none>" and "<end>": token ids 0 .. n_structural - 1
    slots: list[str]  # "<root>", every "Parent.field" of the grammar, and "<top>" (the root's parent slot)
    # the value vocabulary (ValueVocabulary.tokens per ASDL value type): its all_tokens() follow the structural ids;
    # lists of text rather than one mapping, as a model file's configuration holds
    identifier_values: list[str] = dataclasses.field(default_factory=list)
    string_values: list[str] = dataclasses.field(default_factory=list)
    constant_values: list[str] = dataclasses.field(default_factory=list)
    int_values: list[str] = dataclasses.field(default_factory=list)
    n_embd: int = 128  # embedding size of tokens and slots (summed into the LSTM input) and of the output layer
    n_hidden: int = 256  # LSTM units
    n_layer: int = 1  # LSTM layers
    block_size: int = 256  # decisions per segment: the LSTM restarts every block_size decisions of a tree
    dropout: float = 0.0  # on the LSTM input and the combined state

    @property
    def values(self) -> dict[str, list[str]]:
        """The value vocabulary in :meth:`genlab.trees.python_ast.ValueVocabulary.to_dict` form."""
        return {"identifier": list(self.identifier_values), "string": list(self.string_values),
                "constant": list(self.constant_values), "int": list(self.int_values)}

    @property
    def n_structural(self) -> int:
        """The number of structural tokens (node types, ``<none>`` and ``<end>``): ids ``0 .. n_structural - 1``."""
        return len(self.structural)

    @property
    def n_slots(self) -> int:
        """The number of slots (``<root>``, every ``Parent.field`` of the grammar and ``<top>``)."""
        return len(self.slots)

    def validate(self) -> None:
        """Check the sizes and the slot table.

        Raises
        ------
        ParameterError
            ``n_embd``, ``n_hidden``, ``n_layer`` or ``block_size`` is not a positive integer, ``block_size`` is too
            large for the packed decisions, ``dropout`` is outside [0, 1), or the slot table is empty or too large.
        """
        for name, low in (("n_embd", 1), ("n_hidden", 1), ("n_layer", 1), ("block_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ParameterError(f"{name} must be an integer >= {low}; got {value!r}.")
        if self.block_size >= NO_PARENT:
            raise ParameterError(f"block_size must be < {NO_PARENT}; got {self.block_size}.")
        if not (isinstance(self.dropout, numbers.Real) and not isinstance(self.dropout, bool)
                and 0.0 <= self.dropout < 1.0):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if not 0 < self.n_slots < _MAX_SLOTS:
            raise ParameterError(f"the slot table must hold 1 .. {_MAX_SLOTS - 1} slots; got {self.n_slots}.")


def config_from_dict(values: dict[str, Any]) -> NeuralTreeConfig:
    """A configuration from its stored dict (``config_``)."""
    names = {f.name for f in dataclasses.fields(NeuralTreeConfig)}
    unknown = set(values) - names
    if unknown:
        raise ParameterError(f"unknown configuration fields {sorted(unknown)} of a tree network.")
    config = NeuralTreeConfig(**values)
    config.validate()
    return config


def pack_inputs(prev: np.ndarray, slot: np.ndarray, parent_slot: np.ndarray, distance: np.ndarray,
                restriction: np.ndarray) -> np.ndarray:
    """The five inputs of each decision packed into one int64 (shapes equal; returns the same shape).

    ``prev``: the previous token id (``n_tokens`` is the start mark); ``slot`` / ``parent_slot``: slot ids;
    ``distance``: ``i - (p(i) + 1)`` >= 0, the steps back to the parent state, or ``NO_PARENT``; ``restriction``:
    the decision's :attr:`~genlab.trees.python_ast.Decision.restriction` (0 .. 7: free, the list needs another
    item, the field must close, ...), which narrows the slot's allowed tokens.
    """
    prev, slot, parent_slot, distance, restriction = (np.asarray(a, dtype=np.int64)
                                                      for a in (prev, slot, parent_slot, distance, restriction))
    for name, values, bound in (("token", prev, _MAX_TOKENS), ("slot", slot, _MAX_SLOTS),
                                ("parent slot", parent_slot, _MAX_SLOTS), ("distance", distance, NO_PARENT + 1),
                                ("restriction", restriction, 8)):
        if values.size and (values.min() < 0 or values.max() >= bound):
            # a field that overflowed its bits would silently become another input
            raise ParameterError(f"a decision's {name} id must be in [0, {bound}); got {values.min()} .. "
                                 f"{values.max()}.")
    return (prev | (slot << _TOKEN_BITS) | (parent_slot << (_TOKEN_BITS + _SLOT_BITS))
            | (distance << (_TOKEN_BITS + 2 * _SLOT_BITS)) | (restriction << _RESTRICTION_SHIFT))


def unpack_inputs(x: Any) -> tuple[Any, Any, Any, Any, Any]:
    """The inverse of :func:`pack_inputs` on a torch tensor: (prev, slot, parent_slot, distance, restriction)."""
    return (x & (_MAX_TOKENS - 1), (x >> _TOKEN_BITS) & (_MAX_SLOTS - 1),
            (x >> (_TOKEN_BITS + _SLOT_BITS)) & (_MAX_SLOTS - 1), (x >> (_TOKEN_BITS + 2 * _SLOT_BITS)) & NO_PARENT,
            (x >> _RESTRICTION_SHIFT) & 7)


def build_tree_network(config: NeuralTreeConfig, allowed: np.ndarray) -> Any:
    """The torch module of ``config``.

    Parameters
    ----------
    config : NeuralTreeConfig
    allowed : ndarray of bool, shape (n_restrictions * n_slots, n_tokens)
        The tokens a decision may take: row ``restriction * n_slots + slot``
        (:func:`genlab.trees.tree_neural.allowed_mask`).
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    config.validate()
    allowed = np.asarray(allowed, dtype=bool)
    n_tokens = allowed.shape[1] if allowed.ndim == 2 else 0
    if (allowed.ndim != 2 or allowed.shape[0] % config.n_slots or not allowed.shape[0]
            or not 0 < config.n_structural <= n_tokens):
        raise ParameterError(f"the allowed-token mask has shape {allowed.shape}; the configuration needs (a multiple "
                             f"of {config.n_slots}, at least {config.n_structural}).")
    if n_tokens >= _MAX_TOKENS - 1:
        raise ParameterError(f"at most {_MAX_TOKENS - 2} tokens fit the packed inputs; got {n_tokens} (raise "
                             "value_min_count).")
    S = config.n_structural
    # value rows (those allowing value tokens) fall into a few distinct allowed sets - identifiers, constants,
    # ints, with or without "$None" / "<end>": each set is a *group* whose softmax runs over its own columns only
    value_rows = np.flatnonzero(allowed[:, S:].any(axis=1))
    distinct, row_group_of_value = (np.unique(allowed[value_rows], axis=0, return_inverse=True) if value_rows.size
                                    else (np.zeros((0, n_tokens), bool), np.zeros(0, np.int64)))
    row_group = np.full(allowed.shape[0], -1, dtype=np.int64)  # -1: a structural row
    row_group[value_rows] = np.asarray(row_group_of_value).reshape(-1)
    group_columns = [np.flatnonzero(columns) for columns in distinct]
    group_position = np.full((len(group_columns), n_tokens), -1, dtype=np.int32)  # token -> column in its group
    for g, columns in enumerate(group_columns):
        group_position[g, columns] = np.arange(columns.size, dtype=np.int32)

    class TreeNetwork(nn.Module):
        """``forward(x, y) -> (logp, loss)``: ``x`` packed inputs (B, T) int64 (:func:`pack_inputs`), ``y`` target
        token ids (B, T) (-1: not scored); ``logp`` the log-probability of each target (B, T) (0 where not scored),
        ``loss`` the mean negative log-likelihood in nats per scored decision."""

        def __init__(self) -> None:
            super().__init__()
            self.config = config
            E, H = config.n_embd, config.n_hidden
            self.token_embedding = nn.Embedding(n_tokens + 1, E)  # row n_tokens: the start of a module
            self.slot_embedding = nn.Embedding(config.n_slots, E)
            self.parent_slot_embedding = nn.Embedding(config.n_slots, E)
            self.lstm = nn.LSTM(E, H, config.n_layer, batch_first=True,
                                dropout=config.dropout if config.n_layer > 1 else 0.0)
            self.root_state = nn.Parameter(torch.zeros(H))  # the parent state of the root and of cut-off parents
            self.combine = nn.Linear(2 * H, E)
            self.output = nn.Linear(E, n_tokens)
            self.drop = nn.Dropout(config.dropout)
            # small output weights: at the start each allowed token is about equally likely
            nn.init.normal_(self.output.weight, std=0.02)
            nn.init.zeros_(self.output.bias)
            for table in (self.token_embedding, self.slot_embedding, self.parent_slot_embedding):
                nn.init.normal_(table.weight, std=0.1)
            # rebuilt from the configuration, not stored with the weights
            self.register_buffer("allowed", torch.from_numpy(allowed.copy()), persistent=False)
            self.register_buffer("row_group", torch.from_numpy(row_group), persistent=False)
            self.register_buffer("group_position", torch.from_numpy(group_position), persistent=False)
            for g, columns in enumerate(group_columns):
                self.register_buffer(f"group_columns_{g}", torch.from_numpy(columns), persistent=False)
            self.n_groups = len(group_columns)

        # -- pieces shared by training, scoring and sampling ------------------------------------------------------
        def embed(self, prev: torch.Tensor, slot: torch.Tensor, parent_slot: torch.Tensor) -> torch.Tensor:
            return self.drop(self.token_embedding(prev) + self.slot_embedding(slot)
                             + self.parent_slot_embedding(parent_slot))  # (..., E)

        def combined(self, h: torch.Tensor, h_parent: torch.Tensor) -> torch.Tensor:
            # linear: a tanh here saturated within a few hundred steps and starved the LSTM of gradient (a tiny
            # corpus plateaued at ~1.1 nats per decision with it, ~0.01 without)
            return self.drop(self.combine(torch.cat([h, h_parent], dim=-1)))  # (..., E)

        def mask_rows(self, slot: torch.Tensor, restriction: torch.Tensor) -> torch.Tensor:
            """The allowed-token mask row of each decision (same shape as ``slot``)."""
            return restriction * config.n_slots + slot

        def log_probs(self, u: torch.Tensor, row: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
            """Log-probabilities over all tokens (N, n_tokens) of decisions with combined states ``u`` (N, E) and
            mask rows ``row`` (N,) (:meth:`mask_rows`): ``-inf`` outside each decision's allowed tokens.

            Computed as :meth:`target_log_probs` is, over each decision's columns only (structural tokens, or its
            value group's): sampling pays for the columns a decision can take, not for the whole vocabulary.
            """
            out = torch.full((u.shape[0], n_tokens), float("-inf"), device=u.device)
            group = self.row_group[row]
            for g in torch.unique(group).tolist():
                index = (group == g).nonzero().squeeze(1)
                if g < 0:
                    logits = F.linear(u[index], self.output.weight[:S], self.output.bias[:S]).float() / temperature
                    logits = logits.masked_fill(~self.allowed[row[index], :S], float("-inf"))  # (n, S)
                    out[index, :S] = torch.log_softmax(logits, dim=-1)
                else:
                    columns = getattr(self, f"group_columns_{g}")
                    logits = F.linear(u[index], self.output.weight[columns], self.output.bias[columns]).float()
                    out[index.unsqueeze(1), columns.unsqueeze(0)] = torch.log_softmax(logits / temperature, dim=-1)
            return out

        def parent_states(self, h: torch.Tensor, parent_index: torch.Tensor) -> torch.Tensor:
            """``h_{p(i)+1}`` of each position (B, T, H) gathered from the LSTM outputs ``h`` (B, T, H);
            ``parent_index`` (B, T): the position of each decision's parent state, -1 for the root state."""
            inside = parent_index >= 0
            gathered = h.gather(1, parent_index.clamp(min=0).unsqueeze(-1).expand(-1, -1, h.shape[-1]))
            return torch.where(inside.unsqueeze(-1), gathered, self.root_state.to(h.dtype))  # (B, T, H)

        def target_log_probs(self, u: torch.Tensor, row: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            """log p(y_i) (N,) for combined states (N, E), mask rows (N,) and targets (N,) (>= 0).

            Equal to :meth:`log_probs` at the targets, computed over the columns each decision can take only:
            structural rows over the structural tokens (they allow nothing else) with their mask, value rows group
            by group over the group's columns (no mask needed), in chunks of ``_CHUNK`` rows.
            """
            out = torch.empty(y.shape, dtype=torch.float32, device=u.device)
            group = self.row_group[row]
            for g in range(-1, self.n_groups):
                index = (group == g).nonzero().squeeze(1)
                if g >= 0:
                    columns = getattr(self, f"group_columns_{g}")
                    weight = self.output.weight.index_select(0, columns)
                    bias = self.output.bias.index_select(0, columns)
                for start in range(0, index.numel(), _CHUNK):
                    part = index[start : start + _CHUNK]
                    t = y[part]
                    if g < 0:
                        logits = F.linear(u[part], self.output.weight[:S], self.output.bias[:S]).float()
                        logits = logits.masked_fill(~self.allowed[row[part], :S], float("-inf"))  # (n, S)
                    else:
                        logits = F.linear(u[part], weight, bias).float()  # (n, group size)
                        t = self.group_position[g, t].long()
                    out[part] = torch.log_softmax(logits, dim=-1).gather(1, t.unsqueeze(1)).squeeze(1)
            return out

        def run(self, prev: torch.Tensor, slot: torch.Tensor, parent_slot: torch.Tensor, parent_index: torch.Tensor,
                restriction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            """log p of each target (B, T) (0 where ``y`` < 0) of sequences starting from a zero state; inputs
            (B, T) as :func:`pack_inputs` names them, ``parent_index`` as in :meth:`parent_states`."""
            h, _ = self.lstm(self.embed(prev, slot, parent_slot))  # (B, T, H)
            u = self.combined(h, self.parent_states(h, parent_index))  # (B, T, E)
            scored = y >= 0
            logp = torch.zeros(y.shape, dtype=torch.float32, device=y.device)
            row = self.mask_rows(slot, restriction)
            logp[scored] = self.target_log_probs(u[scored], row[scored], y[scored])
            return logp

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            prev, slot, parent_slot, distance, restriction = unpack_inputs(x)
            position = torch.arange(x.shape[1], device=x.device)
            parent_index = torch.where(distance == NO_PARENT, -1, position - distance)  # (B, T)
            logp = self.run(prev, slot, parent_slot, parent_index, restriction, y)
            loss = -logp.sum() / (y >= 0).sum().clamp(min=1)
            return logp, loss

    return TreeNetwork()
