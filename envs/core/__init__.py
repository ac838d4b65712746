"""The env API: ``ToolEnv``, tools, protocols, tasks and verdicts."""

from envs.core.config import Config, EpisodeConfig, check_choice, check_range
from envs.core.env import ToolEnv
from envs.core.errors import EpisodeEndedError, InfraError
from envs.core.protocol import (
    PROTOCOLS,
    JsonProtocol,
    ParsedTurn,
    Protocol,
    ToolCall,
    XmlProtocol,
    format_reward,
    get_protocol,
)
from envs.core.spaces import AnyText
from envs.core.task import Task, Verdict
from envs.core.tool import Tool, ToolArgumentError, tool

__all__ = [
    "PROTOCOLS",
    "AnyText",
    "Config",
    "EpisodeConfig",
    "EpisodeEndedError",
    "InfraError",
    "JsonProtocol",
    "ParsedTurn",
    "Protocol",
    "Task",
    "Tool",
    "ToolArgumentError",
    "ToolCall",
    "ToolEnv",
    "Verdict",
    "XmlProtocol",
    "check_choice",
    "check_range",
    "format_reward",
    "get_protocol",
    "tool",
]
