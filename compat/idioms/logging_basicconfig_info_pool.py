# Idiom program, written for netpool (not a copy of public code).
# What it does: logging.basicConfig(level=INFO) in the parent, forked workers log through it; netpool's own INFO lines must not show under netpool run.
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import logging
import multiprocessing
import sys

logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                    format="%(levelname)s %(name)s %(message)s")
log = logging.getLogger("app")

def job(x):
    log.info("job %s", x)
    logging.getLogger("app.worker").debug("hidden")
    return x

if __name__ == "__main__":
    log.info("start")
    with multiprocessing.Pool(1) as pool:
        pool.map(job, range(3))
    log.warning("end")
