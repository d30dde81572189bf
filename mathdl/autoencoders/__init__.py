r"""Shallow autoencoders ([MEDL] Ch. 3, Sec. 3.5): linear, non-linear and denoising, latent interpolation.

Pure ``init_autoencoder`` / ``encode`` / ``decode`` / ``autoencoder`` functions on ONE example and
per-example losses; train them with ``mathdl.train.fit`` and an Optax optimizer.
"""

from mathdl.autoencoders._shallow import (
    AutoencoderParams,
    autoencoder,
    corrupt,
    decode,
    denoising_loss,
    encode,
    init_autoencoder,
    interpolate_latent,
    reconstruction_loss,
)

__all__ = [
    "AutoencoderParams",
    "autoencoder",
    "corrupt",
    "decode",
    "denoising_loss",
    "encode",
    "init_autoencoder",
    "interpolate_latent",
    "reconstruction_loss",
]
