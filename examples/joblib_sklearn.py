"""scikit-learn's n_jobs on netpool workers, through the "netpool" joblib backend.

Needs ``pip install 'netpool[joblib]' scikit-learn``.
"""

import joblib
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

import netpool.joblib  # noqa: F401  registers the "netpool" backend

if __name__ == "__main__":
    X, y = load_digits(return_X_y=True)
    grid = {"C": [1.0, 10.0], "gamma": [0.0005, 0.001, 0.002]}
    with joblib.parallel_config(backend="netpool", n_jobs=2):
        search = GridSearchCV(SVC(), grid, cv=3).fit(X, y)
    print("best:", search.best_params_, "score %.3f" % search.best_score_)
    assert search.best_score_ > 0.85
