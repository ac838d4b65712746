"""Rollouts, evaluation, GRPO training and the ``toolgym`` command line."""
