"""The interactive games: played episodes (moves in, new state out, a win or a loss ends the episode)
and their whole-solution verifiers."""

import itertools
import re

import gymnasium as gym
import pytest

import envs  # noqa: F401
from envs.puzzles.frozen_lake import FrozenLakeEnv
from envs.puzzles.mastermind import MastermindEnv, score
from envs.puzzles.maze import MOVES
from envs.puzzles.sokoban import SokobanEnv
from envs.puzzles.wordle import WordleEnv, mark, words


def play(env, turns):
    """Step through ``turns``; the list of (obs, reward, terminated, truncated, info)."""
    out = []
    for turn in turns:
        out.append(env.step(turn))
        if out[-1][2] or out[-1][3]:
            break
    return out


@pytest.mark.parametrize("protocol", ["xml", "json"])
def test_mastermind_consistent_guesser_wins(protocol):
    env = gym.make("toolgym/Mastermind-v0", protocol=protocol, length=4, colors=6).unwrapped
    env.reset(seed=3)
    candidates = ["".join(p) for p in itertools.product("123456", repeat=4)]
    for _ in range(env.episode.max_turns):
        guess = candidates[0]
        obs, reward, terminated, truncated, info = env.step(env.call_turn("guess", code=guess))
        if terminated:
            break
        assert not truncated and reward == 0.0
        exact, near = map(int, re.search(r"(\d+) right and in place, (\d+) right but", obs).groups())
        candidates = [c for c in candidates if score(c, guess) == (exact, near)]
    assert terminated and info["is_success"] is True and reward == 1.0
    assert "cracked" in obs and info["reward_components"]["guesses"] <= 8


def test_mastermind_runs_out_of_guesses_and_loses():
    env = MastermindEnv(length=3, colors=4, max_guesses=3)
    env.reset(seed=0)
    secret = env.task.metadata["secret"]
    wrong = next("".join(p) for p in itertools.product("1234", repeat=3) if "".join(p) != secret)
    # not a guess: a format error, and no guess is used
    _, reward, terminated, _, info = env.step("<guess>12</guess>")
    assert not terminated and info["format_error"] and reward == -env.episode.format_penalty
    results = play(env, [f"<guess>{wrong}</guess>"] * 3)
    obs, reward, terminated, truncated, info = results[-1]
    assert len(results) == 3 and terminated and info["is_success"] is False and reward == 0.0
    assert secret in obs


def test_mastermind_answer_and_feedback():
    assert score("1122", "1212") == (2, 2)
    assert score("1234", "5555") == (0, 0)
    env = MastermindEnv()
    task = env._load_task("mastermind/1")
    assert env.verify(task, f"The code is {' '.join(task.answer)}").success
    assert not env.verify(task, "0000").success


def test_wordle_marks_repeated_letters_like_the_game():
    assert mark("crane", "crane") == "GGGGG"
    assert mark("abbey", "babes") == "YYGG-"
    assert mark("robot", "ooooo") == "-G-G-"
    assert mark("spell", "lolly") == "Y--G-"  # only one L left over for the first L
    assert len(words()) >= 500 and all(len(w) == 5 and w.isalpha() for w in words())


@pytest.mark.parametrize("protocol", ["xml", "json"])
def test_wordle_filtering_player_wins(protocol):
    env = gym.make("toolgym/Wordle-v0", protocol=protocol, max_guesses=8).unwrapped
    env.reset(seed=11)
    candidates = list(words())
    obs, _, terminated, _, _ = env.step(env.call_turn("guess", word="zzzzz"))
    assert "not in the word list" in obs and not terminated
    for _ in range(8):
        guess = candidates[len(candidates) // 2]
        obs, reward, terminated, truncated, info = env.step(env.call_turn("guess", word=guess.upper()))
        if terminated:
            break
        marks = obs.split("-> ")[1][:5]
        candidates = [w for w in candidates if mark(w, guess) == marks]
    assert terminated and info["is_success"] is True and reward == 1.0


def test_wordle_loss_and_answer():
    env = WordleEnv(max_guesses=2)
    env.reset(seed=0)
    secret = env.task.metadata["secret"]
    wrong = [w for w in words() if w != secret][:2]
    results = play(env, [f"<guess>{w}</guess>" for w in wrong])
    assert results[-1][2] and results[-1][4]["is_success"] is False
    task = env.task
    assert env.verify(task, f"The word is {secret.upper()}").success
    assert not env.verify(task, wrong[0]).success


BACK = {"U": "D", "D": "U", "L": "R", "R": "L"}


def free_step(meta):
    """A move from the start onto free floor (no wall, no box) and the move back."""
    (r, c), boxes = meta["player"], [tuple(b) for b in meta["boxes"]]
    for m, (dr, dc) in MOVES.items():
        if meta["walls"][r + dr][c + dc] != "#" and (r + dr, c + dc) not in boxes:
            return m, BACK[m]
    raise AssertionError("the player is walled in")


@pytest.mark.parametrize("protocol", ["xml", "json"])
def test_sokoban_played_move_by_move_wins(protocol):
    env = gym.make("toolgym/Sokoban-v0", protocol=protocol, difficulty=0.5).unwrapped
    env.reset(seed=2)
    moves = env.task.answer.split()
    boards = []
    for k in range(0, len(moves), 3):
        obs, reward, terminated, truncated, info = env.step(
            env.call_turn("move", moves=" ".join(moves[k : k + 3]))
        )
        boards.append(obs)
        if terminated:
            break
    assert terminated and info["is_success"] is True and reward == 1.0
    assert "You win" in obs and len(set(boards)) == len(boards)  # every move changed the board


def test_sokoban_verifier_accepts_other_solutions_and_rejects_unsolved():
    env = SokobanEnv()
    task = env._load_task("sokoban/5")
    there, back = free_step(task.metadata)
    assert env.verify(task, f"{there} {back} {task.answer}").success  # a step away and back first
    assert env.verify(task, f"{there.lower()}, {back.lower()}, {task.answer.lower()}").success
    verdict = env.verify(task, " ".join(task.answer.split()[:-1]))
    assert not verdict.success and verdict.parts["boxes_on_target"] < 1
    assert not env.verify(task, "jump").success


def test_sokoban_runs_out_of_moves():
    env = SokobanEnv(max_moves=4)
    env.reset(seed=1)
    there, back = free_step(env.task.metadata)
    obs, reward, terminated, _, info = env.step(f"<move>{there} {back} {there} {back} {there}</move>")
    assert terminated and info["is_success"] is False and "Out of moves" in obs


def test_frozen_lake_win_and_fall():
    env = FrozenLakeEnv(difficulty=1.0)
    for seed in range(30):  # find a lake with a hole next to the start
        env.reset(seed=seed)
        lake, (r, c) = env.task.metadata["lake"], env.task.metadata["start"]
        holes = [
            m
            for m, (dr, dc) in MOVES.items()
            if 0 <= r + dr < len(lake) and 0 <= c + dc < len(lake) and lake[r + dr][c + dc] == "H"
        ]
        if holes:
            break
    obs, reward, terminated, _, info = env.step(f"<move>{holes[0]}</move>")
    assert terminated and info["is_success"] is False and "hole" in obs
    assert not env.verify(env.task, holes[0] + " " + env.task.answer).success
    env.reset(options={"task_id": env.task.id})
    results = play(env, [f"<move>{m}</move>" for m in env.task.answer.split()])
    obs, reward, terminated, _, info = results[-1]
    assert terminated and info["is_success"] is True and reward == 1.0 and "goal" in obs
    assert "P" in results[0][0]


def test_frozen_lake_verifier_accepts_a_detour():
    env = FrozenLakeEnv(size=6, holes=0.0)
    task = env._load_task("frozen_lake/0")
    r, c = task.metadata["start"]
    n = len(task.metadata["lake"])
    edge = (
        next(m for m, (dr, dc) in MOVES.items() if not (0 <= r + dr < n and 0 <= c + dc < n))
        if r in (0, n - 1) or c in (0, n - 1)
        else None
    )
    moves = task.answer.split()
    nr, nc = r + MOVES[moves[0]][0], c + MOVES[moves[0]][1]
    detour = [moves[0], BACK[moves[0]], *moves] if task.metadata["lake"][nr][nc] != "G" else moves
    assert env.verify(task, " ".join(detour)).success
    if edge:
        assert env.verify(task, edge + " " + task.answer).success
    assert not env.verify(task, " ".join(moves[:-1])).success


def test_moves_after_the_winning_move_in_the_same_turn_are_refused():
    env = FrozenLakeEnv(holes=0.0)
    env.reset(seed=4)
    moves = env.task.answer.split()
    turn = f"<move>{' '.join(moves)}</move><move>{moves[0]}</move>"
    obs, reward, terminated, _, info = env.step(turn)
    assert terminated and info["is_success"] is True and reward == 1.0
    assert "You win" in obs and "the game is over" in obs


def test_a_bad_move_changes_nothing_and_keeps_the_game_going():
    env = SokobanEnv()
    first, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, _ = env.step("<move>jump over the box</move>")
    assert "not a move" in obs and not terminated and not truncated
    assert reward == -env.episode.format_penalty  # a move that is not one is the model's format error
    assert env.state["moves"] == 0


def test_move_demonstrations_walk_a_straight_run_per_call_within_the_turns():
    from envs.puzzles.game import move_chunks

    assert move_chunks(list("DDDRRU"), 10) == ["down down down", "right right", "up"]
    assert move_chunks(list("DDDRRU"), 2) == ["down down down", "right right up"]
    assert move_chunks(list("DRDR"), 1) == ["down right down right"] and move_chunks([], 3) == []
    env = gym.make("toolgym/Sokoban-v0", difficulty=1.0, max_turns=3).unwrapped
    env.reset(seed=4)
    turns = env.demonstration()
    assert 1 <= len(turns) <= 3 and all(t.startswith("<move>") for t in turns)
    assert play(env, turns)[-1][4]["is_success"] is True


def test_guessing_games_demonstrate_play_not_just_the_secret():
    env = gym.make("toolgym/Mastermind-v0", protocol="json").unwrapped
    env.reset(seed=1)
    turns = env.demonstration()
    assert turns == env.demonstration()  # draws seeded by the task
    assert all('"name": "guess"' in t for t in turns)
    assert play(env, turns)[-1][4]["is_success"] is True
    huge = gym.make("toolgym/Mastermind-v0", length=8, colors=9).unwrapped  # too many codes to enumerate
    huge.reset(seed=1)
    assert huge.demonstration() == [huge.answer_turn(huge.task.answer)]
    wordle = gym.make("toolgym/Wordle-v0").unwrapped
    wordle.reset(seed=2)
    turns = wordle.demonstration()
    assert all(t.startswith("<guess>") for t in turns)
    assert play(wordle, turns)[-1][4]["is_success"] is True
