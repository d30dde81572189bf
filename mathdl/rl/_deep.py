"""Deep RL objectives and buffers: DQN's Huber TD loss and replay buffer, REINFORCE, GAE, actor-critic."""

__all__: list[str] = []
