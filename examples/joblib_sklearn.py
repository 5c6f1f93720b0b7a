"""scikit-learn's n_jobs on netpool workers, through the "netpool" joblib backend.

Needs ``pip install 'netpool[joblib]' scikit-learn``.
"""

import joblib
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import netpool.joblib  # noqa: F401  registers the "netpool" backend

if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    grid = {"C": [0.1, 1.0, 10.0]}
    with joblib.parallel_config(backend="netpool", n_jobs=2):
        search = GridSearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X, y)
    print("best:", search.best_params_, "score %.3f" % search.best_score_)
    assert search.best_score_ > 0.85
