# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: cx_Freeze 8.7.3, tests/stdlib/test_multiprocessing.py, the file sample3.py of its
#   SOURCE string (line 58), which the test writes out, freezes and runs
#   (https://github.com/marcelotduarte/cx_Freeze); obtained with
#   `pip download --no-binary :all: cx_Freeze==8.7.3`.
# Author: Marcelo Duarte and the cx_Freeze contributors.
# Licence: the cx_Freeze licence (PSF-2.0-derived; PSF-2.0 in its metadata).
# Changes: its four-space indentation inside the string removed, as the test's helper does.
# A Manager (its server process started by spawn) and no Pool: `netpool run` must leave it alone.

if __name__ == "__main__":
    import multiprocessing, sys
    multiprocessing.freeze_support()
    multiprocessing.set_start_method('spawn')
    mgr = multiprocessing.Manager()
    var = [1] * 10000000
    print("creating dict", end="...")
    mgr_dict = mgr.dict({'test': var})
    print("done!")
