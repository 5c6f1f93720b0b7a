# Idiom program, written for netpool (not a copy of public code).
# What it does: results of many stdlib types: Decimal (with the parent's context precision), Fraction, datetime, Enum/IntFlag, sets, Counter, defaultdict, exceptions, range, slice, Ellipsis.
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import datetime
import decimal
import enum
import fractions
import multiprocessing
import collections

class Color(enum.Enum):
    RED = 1
    GREEN = 2

class Flag(enum.IntFlag):
    A = 1
    B = 2

def make(i):
    return {
        "dec": decimal.Decimal(i) / 7,
        "frac": fractions.Fraction(i, 3),
        "date": datetime.date(2020, 1, i + 1),
        "dt": datetime.datetime(2020, 1, 1, i, tzinfo=datetime.timezone.utc),
        "td": datetime.timedelta(seconds=i),
        "color": Color(i % 2 + 1),
        "flag": Flag.A | Flag.B,
        "set": {i, i + 1},
        "fs": frozenset("ab"),
        "exc": ValueError("v", i),
        "counter": collections.Counter("aab"),
        "od": collections.OrderedDict(a=i),
        "dd": collections.defaultdict(list, {"k": [i]}),
        "complex": complex(i, 1),
        "bytes": bytes([i]),
        "ba": bytearray(b"x"),
        "range": range(i),
        "slice": slice(1, i),
        "ellipsis": ...,
        "ni": NotImplemented,
    }

if __name__ == "__main__":
    decimal.getcontext().prec = 5
    with multiprocessing.Pool(2) as pool:
        for r in pool.map(make, range(3)):
            for k in sorted(r):
                print(k, repr(r[k]))
        print(pool.apply(decimal.getcontext).prec)
        print(Color.RED in [r["color"] for r in pool.map(make, [1])], pool.apply(make, (1,))["color"] is Color.GREEN)
