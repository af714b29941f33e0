"""``python -m moekd`` (what ``accelerate launch -m moekd`` runs)."""

from moekd.cli import main

if __name__ == "__main__":  # spawned worker processes import this module too
    main()
