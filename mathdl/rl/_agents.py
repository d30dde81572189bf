"""Agents as pure training steps for train.loop: DQN, REINFORCE with a baseline, A2C, over vmapped environments."""

__all__: list[str] = []
