"""Train the sample model: a GradientBoostingClassifier on 20 numeric features.

Deterministic (fixed seeds), so every run writes the same model. It is fitted on a
plain array, so it takes rows of 20 numbers in the order f0..f19 (the column names
the sample CSV files use).

    python train.py                  # writes sample/model/model.joblib (git-ignored)
    python train.py --output DIR     # writes DIR/model.joblib
"""

from __future__ import annotations

import argparse
import os

import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

N_FEATURES = 20
SEED = 0


def train() -> GradientBoostingClassifier:
    """The fitted model."""
    x, y = make_classification(
        n_samples=5000,
        n_features=N_FEATURES,
        n_informative=10,
        n_redundant=4,
        random_state=SEED,
    )
    return GradientBoostingClassifier(random_state=SEED).fit(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "model"),
        help="folder to write model.joblib into (default: sample/model next to this file)",
    )
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "model.joblib")
    joblib.dump(train(), path)
    print(path)


if __name__ == "__main__":
    main()
