# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: SQLAlchemy 2.1.9, doc/build/core/pooling.rst lines 632-649, section "Using
#   Connection Pools with Multiprocessing or os.fork()", approach 2, "the recommended
#   approach" (https://docs.sqlalchemy.org/en/21/core/pooling.html#pooling-multiprocessing);
#   obtained with `pip download --no-binary :all: SQLAlchemy==2.1.9`.
# Author: Mike Bayer and the SQLAlchemy authors and contributors.
# Licence: MIT (SQLAlchemy's LICENSE).
# Changes: the reST literal block's indentation removed; what the snippet leaves to the
#   reader filled in with the least that runs here: `from sqlalchemy import create_engine,
#   text` added above its first line, the MySQL URL "mysql+mysqldb://user:pass@host/dbname"
#   made "sqlite:///dbname.db" (no database server here), the statement text("...") made
#   text("select 1"), and `data = range(20)` added above the `with` block.
# A module-level Engine inherited by the workers, a Pool(10) whose initializer disposes of
# the parent's connection pool in each worker (`initializer=` alone, no initargs), map over
# a range inside a context manager; nothing printed: exit status and stderr are compared.
# compat: requires sqlalchemy

from sqlalchemy import create_engine, text
from multiprocessing import Pool

engine = create_engine("sqlite:///dbname.db")


def run_in_process(some_data_record):
    with engine.connect() as conn:
        conn.execute(text("select 1"))


def initializer():
    """ensure the parent proc's database connections are not touched
    in the new connection pool"""
    engine.dispose(close=False)


data = range(20)
with Pool(10, initializer=initializer) as p:
    p.map(run_in_process, data)
