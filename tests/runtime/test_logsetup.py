"""NETPOOL_LOG: a handler at that level when set, nothing when not, a warning when wrong."""

import logging

import pytest

from netpool._runtime import logsetup


@pytest.fixture
def logger():
    log = logging.getLogger("netpool")
    saved = (list(log.handlers), log.level, log.propagate)
    yield log
    log.handlers[:], log.level, log.propagate = saved[0], saved[1], saved[2]


def ours(log):
    return [h for h in log.handlers if type(h).__name__ == "_Handler"]


@pytest.mark.parametrize("value, level", [("debug", logging.DEBUG), ("INFO", logging.INFO),
                                          (" warning ", logging.WARNING)])
def test_a_level_gets_one_stderr_handler(logger, value, level):
    logger.handlers[:] = []
    assert logsetup.configure({"NETPOOL_LOG": value}) == level
    assert logsetup.configure({"NETPOOL_LOG": value}) == level  # twice: still one handler
    (handler,) = ours(logger)
    assert handler.level == level and logger.level == level and not logger.propagate


def test_unset_leaves_logging_alone(logger):
    before = (list(logger.handlers), logger.level, logger.propagate)
    assert logsetup.configure({}) is None and logsetup.configure({"NETPOOL_LOG": ""}) is None
    assert (list(logger.handlers), logger.level, logger.propagate) == before


def test_a_bad_value_is_one_line_on_stderr(logger, capsys):
    before = list(logger.handlers)
    assert logsetup.configure({"NETPOOL_LOG": "loud"}) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NETPOOL_LOG='loud'" in err and "debug" in err
    assert list(logger.handlers) == before


def test_netpool_run_keeps_info_from_the_programs_handlers(logger, capsys):
    # netpool run: a script's basicConfig(level=INFO) must not show the pool's INFO lines
    # (the stdlib's multiprocessing logger does not propagate); warnings still reach stderr.
    logger.handlers[:] = []
    logger.setLevel(logging.NOTSET)
    seen = []
    root = logging.getLogger()

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())
    catch, level = Catch(), root.level
    root.addHandler(catch)
    root.setLevel(logging.INFO)
    try:
        logsetup.keep_to_itself()
        logger.info("netpool: launched worker 0")
        logger.warning("netpool: worker 0 lost")
    finally:
        root.removeHandler(catch)
        root.setLevel(level)
    assert seen == [] and "netpool: worker 0 lost" in capsys.readouterr().err
