"""The curriculum wrapper: difficulty follows the online success rate; its state saves and loads."""

import gymnasium as gym
import pytest

import envs  # noqa: F401
from envs.core import InfraError
from envs.puzzles.maze import MazeEnv
from envs.wrappers import Curriculum


def episode(env, solve: bool) -> None:
    env.reset()
    task = env.unwrapped.task
    env.step(env.unwrapped.answer_turn(task.answer if solve else "no idea"))


def test_difficulty_rises_on_success_and_falls_on_failure():
    env = Curriculum(gym.make("toolgym/Sudoku-v0", size=4), start=0.5, step=0.25, window=4)
    assert env.unwrapped.config.difficulty == 0.5
    for _ in range(3):
        episode(env, True)
    assert env.difficulty == 0.5  # the window is not full yet
    episode(env, True)
    assert env.difficulty == 0.75 and env.success_rate is None
    obs, info = env.reset()
    assert info["difficulty"] == 0.75 and env.unwrapped.config.difficulty == 0.75
    for _ in range(8):
        episode(env, True)
    assert env.difficulty == 1.0  # capped at max_difficulty
    for _ in range(12):
        episode(env, False)
    assert env.difficulty == 0.25
    assert [c["to"] for c in env.changes] == [0.75, 1.0, 0.75, 0.5, 0.25]


def test_middling_success_keeps_the_level_and_infra_errors_do_not_count():
    env = Curriculum(gym.make("toolgym/Maze-v0"), start=0.4, window=4)
    for solve in (True, False, True, False, True, False):
        episode(env, solve)
    assert env.difficulty == 0.4 and env.episodes == 6

    class BrokenMaze(MazeEnv):
        def verify(self, task, answer):
            raise InfraError("verifier down")

    broken = Curriculum(BrokenMaze(), window=1)
    broken.reset()
    _, _, _, truncated, info = broken.step("<answer>R</answer>")
    assert truncated and info["is_success"] is None
    assert broken.episodes == 0 and broken.difficulty == BrokenMaze().config.difficulty


def test_state_round_trips_through_a_file(tmp_path):
    env = Curriculum(gym.make("toolgym/Game24-v0"), start=0.2, step=0.2, window=2)
    for _ in range(3):
        episode(env, True)
    path = tmp_path / "curriculum.json"
    env.save(path)
    other = Curriculum(gym.make("toolgym/Game24-v0"))
    other.load(path)
    assert other.state_dict() == env.state_dict()
    assert other.difficulty == pytest.approx(0.4) and other.unwrapped.config.difficulty == pytest.approx(0.4)
    assert list(other.outcomes) == [True]


def test_bad_settings_and_envs_without_difficulty_are_clear_errors():
    with pytest.raises(ValueError, match="lower_at"):
        Curriculum(gym.make("toolgym/Maze-v0"), raise_at=0.5, lower_at=0.6)
    with pytest.raises(ValueError, match="start"):
        Curriculum(gym.make("toolgym/Maze-v0"), start=2.0)
    with pytest.raises(ValueError, match="no difficulty"):
        Curriculum(gym.make("CartPole-v1"))
