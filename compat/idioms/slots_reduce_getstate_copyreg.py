# Idiom program, written for netpool (not a copy of public code).
# What it does: __slots__ classes, __getstate__/__setstate__, __reduce__ and a copyreg registration made in the parent at run time.
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import copyreg
import multiprocessing

class Point:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __repr__(self):
        return f"Point({self.x}, {self.y})"

class Conn:
    def __init__(self, url):
        self.url = url
        self.sock = object()  # not picklable on purpose
    def __getstate__(self):
        d = self.__dict__.copy()
        del d["sock"]
        return d
    def __setstate__(self, d):
        self.__dict__.update(d)
        self.sock = "reopened"
    def __repr__(self):
        return f"Conn({self.url}, {self.sock})"

class Reduced:
    def __init__(self, a, b=0):
        self.a, self.b = a, b
    def __reduce__(self):
        return (Reduced, (self.a, self.b + 1))
    def __repr__(self):
        return f"Reduced({self.a}, {self.b})"

class Registered:
    def __init__(self, v):
        self.v = v
    def __repr__(self):
        return f"Registered({self.v})"

def pickle_registered(r):
    return Registered, (r.v * 10,)

def ident(x):
    return x

def move(p):
    return Point(p.x + 1, p.y + 1)

if __name__ == "__main__":
    copyreg.pickle(Registered, pickle_registered)
    with multiprocessing.Pool(2) as p:
        print(p.map(move, [Point(1, 2)]))
        print(p.map(ident, [Conn("db://x")]))
        print(p.map(ident, [Reduced(1)]))
        print(p.map(ident, [Registered(2)]))
