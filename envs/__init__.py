"""toolgym environments: multi-turn, tool-using text envs with verifiable rewards.

``import envs`` registers every env with gymnasium; it imports no model or retrieval library.
"""

from envs.registration import ENVS, register_envs

register_envs()

__all__ = ["ENVS", "register_envs"]
