# Idiom program, written for netpool (not a copy of public code).
# What it does: builtins, methods of builtin types and of builtin instances, operator and math functions as the tasks' functions.
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import multiprocessing
import operator
import math

if __name__ == "__main__":
    with multiprocessing.Pool(2) as p:
        print(p.map(str.upper, ["a", "bc"]))
        print(p.map(len, ["abc", [1, 2]]))
        print(p.map(abs, [-1, 2.5]))
        print(p.starmap(pow, [(2, 3), (3, 2)]))
        print(p.map(int, ["1", "22"]))
        print(p.map("{}!".format, [1, 2]))
        print(p.map(str.split, ["a b", "c"]))
        print(p.starmap(operator.add, [(1, 2)]), p.map(operator.itemgetter(1), ["ab"]))
        print(p.map(math.factorial, [5, 6]), p.map(sorted, ["cba"]))
        print(p.map(dict, [[("a", 1)]]), p.map(bytes.hex, [b"\x01"]))
        print(p.map(operator.methodcaller("strip"), [" x "]))
        print(p.map({"a": 1, "b": 2}.get, ["a", "z"]))
        print(p.map([10, 20, 30].__getitem__, [0, 2]))
        print(p.apply(divmod, (7, 2)), p.apply(max, (3, 9, 4)), p.apply(sum, ([1, 2],), {"start": 10}))
        try:
            p.map(int, ["x"])
        except ValueError as e:
            print("ValueError:", e)
