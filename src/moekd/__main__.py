"""``python -m moekd`` (what ``accelerate launch -m moekd`` runs)."""

from moekd.cli import main

main()
