"""The classic attentional LSTM encoder-decoder (Bahdanau et al. 2015; Luong et al. 2015), for ``Seq2Seq(arch="lstm")``.

Encoder: token embedding, then a bidirectional LSTM over *packed* sequences, so right padding changes nothing for the
real tokens in either direction (the backward LSTM starts at each source's own last token). Its outputs are the
memory (B, S, 2H); its final states, both directions side by side, give the decoder's initial state through a learned
projection (Bahdanau's ``s_0 = tanh(W h_1^<-)``, here from both directions and for every layer).

Decoder, one step: the embedding of the previous token, with the previous *attentional vector* beside it when
``input_feeding`` (Luong's input feeding: the decoder knows what it attended to last), goes through a multi-layer
LSTM; the top layer's output ``h_t`` queries the memory with additive attention ``e_ts = v^T tanh(W_q h_t + W_k m_s)``
(Bahdanau's score; padding masked to -inf), giving the context ``c_t``; the attentional vector
``a_t = tanh(W_a [h_t; c_t])`` is scored against all ``V + 4`` ids, by the target embedding matrix when
``tie_weights`` (``a_t`` then has the embedding's width: the projection ``W_a`` is what lets any hidden size tie).
Without input feeding the decoder LSTM reads the whole target in one call and attention runs for all positions at once
(faster training on CPU); with it, steps run in a loop.

Ids (the common convention of the encoder-decoder modules): the tokenizer's ids are ``0 .. V - 1``, then
``PAD = V``, ``BOS = V + 1``, ``EOS = V + 2``, ``MASK = V + 3``. A separate source vocabulary (``source_vocab_size =
Vs``) has its own four special ids after its tokens (source ``PAD = Vs``, ``MASK = Vs + 3``).

``W_k m`` does not change while decoding one source: :meth:`LSTMSeq2Seq.start_state` computes it once (the LSTM's
counterpart of a Transformer's cross-attention keys and values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from genlab.errors import DataError, ParameterError

__all__ = ["LSTMDecoderState", "LSTMMemory", "LSTMSeq2Seq", "LSTMSeq2SeqConfig"]

#: Offsets of the special ids after the vocabulary (id = vocab_size + offset).
PAD, BOS, EOS, MASK = 0, 1, 2, 3
N_SPECIAL = 4


@dataclass
class LSTMSeq2SeqConfig:
    """Sizes and training settings of :class:`LSTMSeq2Seq` (a plain value: it travels in model-file headers)."""

    vocab_size: int  # V: target tokenizer's ids 0 .. V - 1; the special ids follow (V + 4 rows and outputs)
    arch: str = "lstm"  # the encoder-decoder family, fixed: a stored configuration says which module it builds
    source_vocab_size: int | None = None  # None: source and target share one tokenizer and one embedding table
    n_embd: int = 128  # token embedding width (and the attentional vector's when tie_weights)
    n_hidden: int = 256  # decoder LSTM units; the encoder has n_hidden per direction, so the memory is 2 * n_hidden
    n_layer: int = 1  # LSTM layers of the encoder and of the decoder (Bahdanau: 1; Luong: 4 on far more data)
    dropout: float = 0.0  # on embeddings, between LSTM layers and before the output; 0.2-0.3 once a model overfits
    label_smoothing: float = 0.1  # Szegedy et al. 2016, Vaswani et al. 2017; 0 trains on the exact NLL
    tie_weights: bool = True  # output matrix = target embedding (Press & Wolf 2017): about V * n_embd fewer weights
    input_feeding: bool = True  # Luong's input feeding (the classic); False: a parallel decoder LSTM, faster training

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the module cannot be built with."""
        if self.arch != "lstm":
            raise ParameterError(f"LSTMSeq2SeqConfig is the 'lstm' architecture; got arch={self.arch!r}.")
        for name in ("vocab_size", "n_embd", "n_hidden", "n_layer"):
            _check_positive(name, getattr(self, name))
        if self.source_vocab_size is not None:
            _check_positive("source_vocab_size", self.source_vocab_size)
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ParameterError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}.")


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")


class LSTMMemory(NamedTuple):
    """What :meth:`LSTMSeq2Seq.encode` returns: everything the decoder needs from the sources."""

    states: torch.Tensor  # (B, S, 2H) encoder outputs, zero at padding
    padding: torch.Tensor  # (B, S) bool, True where attention must not look
    h: torch.Tensor  # (n_layer, B, H) decoder's initial hidden state
    c: torch.Tensor  # (n_layer, B, H) decoder's initial cell state


class LSTMDecoderState(NamedTuple):
    """The decoder's state between :meth:`LSTMSeq2Seq.decode_step` calls; every tensor has the batch on ``dim``."""

    h: torch.Tensor  # (n_layer, B, H)
    c: torch.Tensor  # (n_layer, B, H)
    feed: torch.Tensor  # (B, A) the last attentional vector (zeros before the first step)
    keys: torch.Tensor  # (B, S, H) W_k m: fixed per source, computed once
    states: torch.Tensor  # (B, S, 2H) the memory attention averages
    padding: torch.Tensor  # (B, S) bool


#: The batch dimension of each field of LSTMDecoderState (the LSTM's own states keep layers first).
_BATCH_DIM = {"h": 1, "c": 1, "feed": 0, "keys": 0, "states": 0, "padding": 0}


class AdditiveAttention(nn.Module):
    """Bahdanau's score ``v^T tanh(W_q q + W_k m)``; the keys ``W_k m`` are computed apart, once per source."""

    def __init__(self, query_size: int, memory_size: int, size: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, size, bias=False)
        self.key = nn.Linear(memory_size, size)  # the one bias of the sum inside tanh
        self.v = nn.Linear(size, 1, bias=False)

    def forward(
        self, q: torch.Tensor, keys: torch.Tensor, states: torch.Tensor, padding: torch.Tensor
    ) -> torch.Tensor:
        """Contexts (B, T, 2H) for queries ``q`` (B, T, H) over keys (B, S, A), states (B, S, 2H)."""
        scores = self.v(torch.tanh(self.query(q).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)  # (B, T, S)
        scores = scores.masked_fill(padding.unsqueeze(1), float("-inf"))
        return torch.bmm(torch.softmax(scores, dim=-1), states)  # (B, T, 2H)


class LSTMSeq2Seq(nn.Module):
    """Bidirectional LSTM encoder, LSTM decoder with additive attention; the module interface of issue 18.

    Parameters
    ----------
    config : LSTMSeq2SeqConfig

    Notes
    -----
    ``forward(x, y)`` gives the same logits as :meth:`decode_step` over ``y[:, :-1]`` after
    ``start_state(encode(x))`` (tests/neural/test_seq2seq_lstm.py checks it to 1e-5).
    An empty source (all padding) is read as the one token ``PAD``, so that attention has something to look at.
    """

    def __init__(self, config: LSTMSeq2SeqConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        V, E, H, L = config.vocab_size, config.n_embd, config.n_hidden, config.n_layer
        self.pad_id = V + PAD
        self.source_pad_id = (V if config.source_vocab_size is None else config.source_vocab_size) + PAD
        between = config.dropout if L > 1 else 0.0  # torch applies it between layers only and warns with one layer
        self.target_embedding = nn.Embedding(V + N_SPECIAL, E)
        self.source_embedding = (
            None if config.source_vocab_size is None else nn.Embedding(config.source_vocab_size + N_SPECIAL, E)
        )
        self.encoder = nn.LSTM(E, H, L, dropout=between, batch_first=True, bidirectional=True)
        # decoder's initial state from the encoder's final ones, layer by layer (both directions side by side)
        self.bridge_h = nn.Linear(2 * H, H)
        self.bridge_c = nn.Linear(2 * H, H)
        A = E if config.tie_weights else H  # the attentional vector's width: the embedding's when tied
        self.decoder = nn.LSTM(E + (A if config.input_feeding else 0), H, L, dropout=between, batch_first=True)
        self.attention = AdditiveAttention(H, 2 * H, H)
        self.attentional = nn.Linear(H + 2 * H, A, bias=False)  # W_a [h_t; c_t] (Luong's eq. 5)
        self.drop = nn.Dropout(config.dropout)
        self.head = None if config.tie_weights else nn.Linear(A, V + N_SPECIAL, bias=False)
        self.output_bias = nn.Parameter(torch.zeros(V + N_SPECIAL))
        self._init_weights()

    def _init_weights(self) -> None:
        E = self.config.n_embd
        for table in (self.target_embedding, self.source_embedding):
            if table is not None:
                # rows of norm ~1: inputs on the LSTM's scale; tied logits a_t . e start small (loss ~ ln(V + 4))
                nn.init.normal_(table.weight, std=E**-0.5)
        if self.head is not None:
            nn.init.normal_(self.head.weight, std=0.02)  # near-uniform first predictions
        H = self.config.n_hidden
        for lstm in (self.encoder, self.decoder):
            for name, p in lstm.named_parameters():
                if name.startswith("bias_ih"):
                    # forget gates start open (Jozefowicz et al. 2015): gradients reach early tokens from the start
                    with torch.no_grad():
                        p[H : 2 * H].fill_(1.0)

    # -- encoder -------------------------------------------------------------------------------------------------

    def encode(self, src: torch.Tensor) -> LSTMMemory:
        """Read the sources ``src`` (B, S), int64, right-padded with the source ``PAD`` id.

        Returns
        -------
        LSTMMemory
            ``states`` (B, S, 2H), ``padding`` (B, S) and the decoder's initial ``h``, ``c`` (n_layer, B, H).
        """
        if src.dim() != 2 or src.size(1) == 0:
            raise DataError(f"sources must be a (batch, length) tensor with length >= 1; got shape {tuple(src.shape)}.")
        B, S = src.shape
        H, L = self.config.n_hidden, self.config.n_layer
        table = self.target_embedding if self.source_embedding is None else self.source_embedding
        lengths = (src != self.source_pad_id).sum(dim=1).clamp(min=1)  # (B,) an empty source reads one PAD
        x = self.drop(table(src))  # (B, S, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, 2H), zeros at padding
        padding = torch.arange(S, device=src.device).unsqueeze(0) >= lengths.unsqueeze(1)  # (B, S)
        # h, c: (L * 2, B, H), layer-major, forward before backward -> (L, B, 2H)
        h = h.view(L, 2, B, H).transpose(1, 2).reshape(L, B, 2 * H)
        c = c.view(L, 2, B, H).transpose(1, 2).reshape(L, B, 2 * H)
        return LSTMMemory(self.drop(states), padding, torch.tanh(self.bridge_h(h)), self.bridge_c(c))

    # -- decoder -------------------------------------------------------------------------------------------------

    def start_state(self, memory: LSTMMemory) -> LSTMDecoderState:
        """The decoder's state before its first token; computes the attention keys ``W_k m`` once per source."""
        B = memory.states.size(0)
        A = self.attentional.out_features
        feed = memory.states.new_zeros(B, A)
        keys = self.attention.key(memory.states)  # (B, S, H)
        return LSTMDecoderState(memory.h, memory.c, feed, keys, memory.states, memory.padding)

    def _attend(self, out: torch.Tensor, state: LSTMDecoderState) -> torch.Tensor:
        """Attentional vectors (B, T, A) for the decoder outputs ``out`` (B, T, H)."""
        context = self.attention(out, state.keys, state.states, state.padding)  # (B, T, 2H)
        return torch.tanh(self.attentional(torch.cat([out, context], dim=-1)))

    def _logits(self, a: torch.Tensor) -> torch.Tensor:
        a = self.drop(a)
        weight = self.target_embedding.weight if self.head is None else self.head.weight
        return F.linear(a, weight, self.output_bias)  # (B, T, V + 4)

    def decode_step(self, tokens: torch.Tensor, state: LSTMDecoderState) -> tuple[torch.Tensor, LSTMDecoderState]:
        """Run the decoder over ``tokens`` (B, t) from ``state``.

        Returns
        -------
        logits : Tensor of shape (B, t, V + 4), float32
            The scores of the id after each of ``tokens``.
        state : LSTMDecoderState
            The state after the last of them.
        """
        e = self.drop(self.target_embedding(tokens))  # (B, t, E)
        h, c, feed = state.h, state.c, state.feed
        if not self.config.input_feeding:
            out, (h, c) = self.decoder(e, (h, c))  # (B, t, H): all steps in one call
            a = self._attend(out, state)  # (B, t, A)
            feed = a[:, -1]
        else:
            steps = []
            for i in range(tokens.size(1)):  # each step's input needs the previous step's attentional vector
                x = torch.cat([e[:, i], feed], dim=-1).unsqueeze(1)  # (B, 1, E + A)
                out, (h, c) = self.decoder(x, (h, c))  # (B, 1, H)
                a_i = self._attend(out, state)  # (B, 1, A)
                feed = a_i[:, 0]
                steps.append(a_i)
            a = torch.cat(steps, dim=1)  # (B, t, A)
        return self._logits(a).float(), state._replace(h=h, c=c, feed=feed)

    def reorder_state(self, state: LSTMDecoderState, index: torch.Tensor) -> LSTMDecoderState:
        """Keep rows ``index`` of every tensor of ``state``, in that order (beam search; expansion to k rows)."""
        return LSTMDecoderState(**{
            name: value.index_select(_BATCH_DIM[name], index) for name, value in state._asdict().items()
        })

    # -- training ------------------------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits and loss.

        Parameters
        ----------
        x : LongTensor of shape (B, S)
            Sources, right-padded with the source ``PAD``.
        y : LongTensor of shape (B, T + 1)
            ``BOS t_1 .. t_n EOS PAD ..``: the decoder reads ``y[:, :-1]`` and predicts ``y[:, 1:]``.

        Returns
        -------
        logits : Tensor of shape (B, T, V + 4)
        loss : scalar Tensor
            Mean label-smoothed cross-entropy in nats over the labels that are not ``PAD``.
        """
        logits, _ = self.decode_step(y[:, :-1], self.start_state(self.encode(x)))
        return logits, self.loss(logits, y[:, 1:])

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean label-smoothed cross-entropy (nats) of ``logits`` (B, T, V + 4) over the non-``PAD`` ``labels``,
        normalised over the V + 1 ids that can be targets (the tokens and ``EOS``) as the Transformer's and as
        ``Seq2Seq.log_prob`` are: with ``label_smoothing=0`` it is the negative log-likelihood that ``log_prob``
        scores (:func:`genlab.neural.backbones.seq2seq.seq2seq_loss`)."""
        from genlab.neural.backbones.seq2seq import seq2seq_loss

        return seq2seq_loss(logits, labels, self.config.vocab_size, float(self.config.label_smoothing))

    def n_parameters(self) -> int:
        """The number of scalar weights of the module (every parameter, trainable or not)."""
        return sum(p.numel() for p in self.parameters())
