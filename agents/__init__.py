"""Rollouts, evaluation, SFT and GRPO training, and the ``toolgym`` command line."""
