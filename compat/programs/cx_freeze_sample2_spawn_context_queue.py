# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: cx_Freeze 8.7.3, tests/stdlib/test_multiprocessing.py, the file sample2.py of its
#   SOURCE string (line 44), which the test writes out, freezes and runs
#   (https://github.com/marcelotduarte/cx_Freeze); obtained with
#   `pip download --no-binary :all: cx_Freeze==8.7.3`.
# Author: Marcelo Duarte and the cx_Freeze contributors.
# Licence: the cx_Freeze licence (PSF-2.0-derived; PSF-2.0 in its metadata).
# Changes: its four-space indentation inside the string removed, as the test's helper does.
# A program with a Process and no Pool: `netpool run` must leave it alone.

import multiprocessing

def foo(q):
    q.put("Hello from cx_Freeze")

if __name__ == "__main__":
    ctx = multiprocessing.get_context('spawn')
    ctx.freeze_support()
    q = ctx.Queue()
    p = ctx.Process(target=foo, args=(q,))
    p.start()
    print(q.get())
    p.join()
