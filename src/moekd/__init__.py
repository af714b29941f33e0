"""moekd: Mixture-of-Experts Knowledge Distillation for tiny, robust C vulnerability detectors."""

__version__ = "0.1.0"
