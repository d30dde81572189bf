r"""Generative models ([MEDL] Ch. 8, Sec. 8.1-8.3): the ELBO and IWAE bounds, the VAE objective,
DDPM/DDIM diffusion processes and samplers, GAN and Wasserstein-GAN objectives.

Networks are passed in as functions (a denoiser ``eps(z_t, t)``, a critic ``c(x)``) or built from
:mod:`mathdl.models` (the VAE's MLP encoder and decoder), so the objectives stay independent of
the architecture. Every function that draws random numbers takes a typed key first.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_elbo", "_vae", "_diffusion", "_gan", "_steps", "_principles")
