r"""Whole models as init/apply pairs on one example ([MEDL] Ch. 3, 5, and next 6-8).

The fully connected network and its explicit backprop with adjoints (Ch. 5), the expressive-power
constructions (Sec. 5.2), and the shallow autoencoders (Sec. 3.5: linear, non-linear and
denoising, latent interpolation). Each model is ``init_<model>(key, ...) -> params`` and
``<model>(params, x, ...)`` on ONE example; ``jax.vmap`` batches it.
"""

from mathdl._api import reexport

__all__ = reexport(
    __name__,
    "_activation_table",
    "_autoencoder",
    "_backprop",
    "_classifier",
    "_cnn",
    "_detection",
    "_expressive",
    "_mlp",
    "_resnet",
    "_siamese",
    "_summary",
    "_unet",
    "_rnn_lm",
    "_bptt",
    "_transformer",
    "_decode",
    "_seq2seq",
    "_gnn",
    "_generative_nets",
)
