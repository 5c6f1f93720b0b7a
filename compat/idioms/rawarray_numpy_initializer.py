# Idiom program, written for netpool (not a copy of public code).
# What it does: a large numpy array shared with the workers as a multiprocessing.RawArray
# given to the initializer, kept in a module-level dict, wrapped with np.frombuffer in tasks.
# Idiom as seen in: Gibbsdavidl/scPySingscore scsingscore/shared_memory_parallel_test.py (GitHub), which
#   follows a blog post on sharing numpy arrays with RawArray and a Pool initializer.
# Written anew in the source's idiom; no code copied.
# Changes: a 16 x 1000 array (not 16 x 1,000,000), seeded; no sleep in the task;
#   np.asscalar (removed from numpy) replaced by .item(); results rounded to print stably.
import numpy as np
from multiprocessing import Pool, RawArray

# A global dictionary storing the variables passed from the initializer.
var_dict = {}


def init_worker(X, X_shape):
    # Using a dictionary is not strictly necessary. You can also
    # use global variables.
    var_dict['X'] = X
    var_dict['X_shape'] = X_shape


def worker_func(i):
    # Simply computes the sum of the i-th row of the input matrix X
    X_np = np.frombuffer(var_dict['X']).reshape(var_dict['X_shape'])
    return np.sum(X_np[i, :]).item()


if __name__ == '__main__':
    X_shape = (16, 1000)
    data = np.random.default_rng(1).standard_normal(X_shape)
    X = RawArray('d', X_shape[0] * X_shape[1])
    # Wrap X as an numpy array so we can easily manipulates its data.
    X_np = np.frombuffer(X).reshape(X_shape)
    np.copyto(X_np, data)
    with Pool(processes=4, initializer=init_worker, initargs=(X, X_shape)) as pool:
        result = pool.map(worker_func, range(X_shape[0]))
        print('Results (pool):\n', np.round(np.array(result), 6))
    print('Results (numpy):\n', np.round(np.sum(X_np, 1), 6))
