"""One training loop on Accelerate and the tasks it runs: fine-tuning, MLM, distillation."""
