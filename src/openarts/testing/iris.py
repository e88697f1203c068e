"""A few rows of Fisher's iris data and a model trained on them: the scikit-learn model
the inference tests and the inference benchmark serve (made here, never downloaded)."""

from __future__ import annotations

from pathlib import Path

# A few rows of Fisher's iris data: sepal length, sepal width, petal length, petal width.
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IRIS_ROWS: tuple[tuple[float, float, float, float, str], ...] = (
    (5.1, 3.5, 1.4, 0.2, "setosa"),
    (4.9, 3.0, 1.4, 0.2, "setosa"),
    (4.7, 3.2, 1.3, 0.2, "setosa"),
    (5.4, 3.9, 1.7, 0.4, "setosa"),
    (4.6, 3.4, 1.4, 0.3, "setosa"),
    (7.0, 3.2, 4.7, 1.4, "versicolor"),
    (6.4, 3.2, 4.5, 1.5, "versicolor"),
    (5.5, 2.3, 4.0, 1.3, "versicolor"),
    (5.7, 2.8, 4.5, 1.3, "versicolor"),
    (5.2, 2.7, 3.9, 1.4, "versicolor"),
    (6.3, 3.3, 6.0, 2.5, "virginica"),
    (5.8, 2.7, 5.1, 1.9, "virginica"),
    (7.1, 3.0, 5.9, 2.1, "virginica"),
    (7.6, 3.0, 6.6, 2.1, "virginica"),
    (7.2, 3.6, 6.1, 2.5, "virginica"),
)
# Flowers not in the training rows, with their species.
IRIS_QUESTIONS: tuple[tuple[tuple[float, float, float, float], str], ...] = (
    ((5.0, 3.3, 1.4, 0.2), "setosa"),
    ((5.9, 3.0, 4.2, 1.5), "versicolor"),
    ((6.9, 3.1, 5.4, 2.1), "virginica"),
)


def train_iris(path: Path) -> None:
    """A logistic regression on the rows above, saved with joblib."""
    import joblib  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    features = [list(row[:4]) for row in IRIS_ROWS]
    labels = [row[4] for row in IRIS_ROWS]
    joblib.dump(LogisticRegression(max_iter=1000).fit(features, labels), path)
