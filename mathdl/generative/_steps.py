"""Training steps of the generative models for train.loop: VAE, diffusion, GAN with k critic steps, WGAN."""

__all__: list[str] = []
