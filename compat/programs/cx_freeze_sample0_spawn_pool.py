# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: cx_Freeze 8.7.3, tests/stdlib/test_multiprocessing.py, the file sample0.py of its
#   SOURCE string (line 16), which the test writes out, freezes and runs
#   (https://github.com/marcelotduarte/cx_Freeze); obtained with
#   `pip download --no-binary :all: cx_Freeze==8.7.3`.
# Author: Marcelo Duarte and the cx_Freeze contributors.
# Licence: the cx_Freeze licence (PSF-2.0-derived; PSF-2.0 in its metadata).
# Changes: its four-space indentation inside the string removed, as the test's helper does.

from multiprocessing import Pool, freeze_support, set_start_method

def foo(n):
    return f"Hello from cx_Freeze #{n}"

if __name__ == "__main__":
    freeze_support()
    set_start_method('spawn')
    with Pool(2) as pool:
        results = pool.map(foo, range(10))
    for line in sorted(results):
        print(line)
