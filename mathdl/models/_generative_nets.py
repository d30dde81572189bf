"""Networks of the generative models: conv VAE encoder and decoder, time-conditioned denoisers, GAN nets."""

__all__: list[str] = []
