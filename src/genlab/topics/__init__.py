"""Topic models: latent Dirichlet allocation (batch / online variational Bayes, collapsed Gibbs) and labelled LDA."""

from genlab.topics.corpus import DocumentTermMatrix, document_term_matrix, make_lda_corpus, tokenize
from genlab.topics.labeled import LabeledLDA
from genlab.topics.lda import LDA, LDALatent, LDASample, LDAStatistics, document_log_likelihood

__all__ = [
    "LDA",
    "DocumentTermMatrix",
    "LDALatent",
    "LDASample",
    "LDAStatistics",
    "LabeledLDA",
    "document_log_likelihood",
    "document_term_matrix",
    "make_lda_corpus",
    "tokenize",
]
