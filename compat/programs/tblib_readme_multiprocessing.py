# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: tblib 3.2.2, README.rst, "Decorators" / "How's this useful? Imagine you're using
#   multiprocessing like this" and "What if we have a local call stack ?", with func_a to
#   func_d of tests/examples.py (https://github.com/ionelmc/python-tblib, same paths);
#   obtained with `pip download --no-binary :all: tblib==3.2.2`.
# Author: Ionel Cristian Mărieș and the tblib contributors.
# Licence: BSD-2-Clause (tblib's LICENSE).
# Changes: the doctest made a script: `>>> ` and `... ` prompts and the expected output
#   removed, `from examples import func_a` replaced by func_a to func_d of
#   tests/examples.py, the imports of the README's later examples (`repeat`,
#   `apply_with_return_error`, `Error`) moved to the top; the blank lines between
#   functions as in a module.
# No `__main__` guard; `Pool()` with the default number of workers, three times, the first
# two terminated, the third only closed; `pool.map` of a function of the script that
# raises four calls deep, its traceback printed with `traceback.format_exc()` (the
# stdlib's RemoteTraceback text as `__cause__`); then tblib's `apply_with_return_error`
# returning the exception with its traceback pickled, re-raised in the parent from three
# frames deep, the worker's frames (file and line of this script) in the printed traceback.
# compat: requires tblib

import traceback
from multiprocessing import Pool
from itertools import repeat
from tblib.decorators import apply_with_return_error, Error


def func_a(_):
    func_b()


def func_b():
    func_c()


def func_c():
    func_d()


def func_d():
    raise Exception('Guessing time !')


pool = Pool()  # doctest: +SKIP
try:  # doctest: +SKIP
    for i in pool.map(func_a, range(5)):
        print(i)
except:
    print(traceback.format_exc())

pool.terminate()  # doctest: +SKIP

pool = Pool()
try: # doctest: +SKIP
    for i in pool.map(apply_with_return_error, zip(repeat(func_a), range(5))):
        if isinstance(i, Error):
            i.reraise()
        else:
            print(i)
except:
    print(traceback.format_exc())

pool.terminate()


def local_0():
    pool = Pool()
    try:
        for i in pool.map(apply_with_return_error, zip(repeat(func_a), range(5))):
            if isinstance(i, Error):
                i.reraise()
            else:
                print(i)
    finally:
        pool.close()

def local_1():
    local_0()

def local_2():
    local_1()

try: # doctest: +SKIP
    local_2()
except:
    print(traceback.format_exc())
