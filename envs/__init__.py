"""toolgym environments: multi-turn, tool-using text envs with verifiable rewards.

``import envs`` registers every env with gymnasium (at once if gymnasium is imported, else the moment it
is); it imports no model or retrieval library, and not gymnasium or numpy either.
"""

from envs.registration import ENVS, register_envs

register_envs()

__all__ = ["ENVS", "register_envs"]
