"""Classifier protocol, Hugging Face-backed classifiers, architecture presets and accounting."""
