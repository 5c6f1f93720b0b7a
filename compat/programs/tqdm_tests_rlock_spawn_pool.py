# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: tqdm 4.70.1, tests/tests_rlock.py (https://github.com/tqdm/tqdm, same path);
#   obtained with `pip download --no-binary :all: tqdm==4.70.1`.
# Author: the tqdm developers (Casper da Costa-Luis et al.).
# Licence: MPL-2.0 (tqdm's LICENCE: "files: * MPL-2.0 2015- (c) Casper da Costa-Luis"), with
#   contributions under MIT.
# Changes: a call of the test function appended under a `__main__` guard (pytest would call
#   it; the guard because a spawn worker imports this file as `__mp_main__`).
# A spawn-context Pool(1) as a context manager, `apply` of a function of the script that
# patches `multiprocessing.RLock` in the worker and asserts that importing tqdm makes no lock
# and that the first bar makes exactly one: fails if the worker had imported tqdm before.
# The lock the first bar makes in the worker is a named semaphore that the resource tracker
# knows of; the `with` block's terminate() races the worker's exit, and in about half the
# runs under plain python (4 of 10 here) the tracker warns on stderr of 1 leaked semaphore
# (the worker was killed before its finalizer unlinked it): masked, whether or not it shows.
# compat: requires pytest tqdm
# compat: mask .*resource_tracker.*(\n|$) => 

from io import StringIO

from pytest import importorskip, mark


@mark.slow
def test_rlock_creation():
    """Test that importing tqdm does not create multiprocessing objects."""
    mp = importorskip('multiprocessing')
    # Use 'spawn' instead of 'fork' so that the process does not inherit any
    # globals that have been constructed by running other tests
    ctx = mp.get_context('spawn')
    with ctx.Pool(1) as pool:
        # The pool will propagate the error if the target method fails
        pool.apply(_rlock_creation_target)


def _rlock_creation_target():
    """Check that the RLock has not been constructed."""
    import multiprocessing as mp
    from unittest.mock import patch

    # Patch the RLock class/method but use the original implementation
    with patch('multiprocessing.RLock', wraps=mp.RLock) as rlock_mock:
        # Importing the module should not create a lock
        from tqdm import tqdm
        assert rlock_mock.call_count == 0
        # Creating a progress bar should initialize the lock
        with StringIO() as tmp_file:
            with tqdm(file=tmp_file) as _:  # NOQA
                pass
        assert rlock_mock.call_count == 1
        # Creating a progress bar again should reuse the lock
        with StringIO() as tmp_file:
            with tqdm(file=tmp_file) as _:  # NOQA
                pass
        assert rlock_mock.call_count == 1


if __name__ == "__main__":
    test_rlock_creation()
