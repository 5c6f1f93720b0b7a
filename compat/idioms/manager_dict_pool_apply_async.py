# Idiom program, written for netpool (not a copy of public code).
# What it does: a Manager().dict() proxy passed as an argument to 100 apply_async tasks of
# an ordinary multiprocessing.Pool; close(); join(); the dict printed.
# Idiom as seen in: Stack Overflow "Pool and Manager in multiprocessing module",
#   https://stackoverflow.com/questions/51398008 (CC BY-SA), the pattern of many Chinese
#   tutorials (Manager().dict() with Pool(4).apply_async).
# Written anew in that idiom; no code copied.
# Changes: the dict is printed sorted (insertion order depends on scheduling).
import multiprocessing


def test(idx, test_dict):
    test_dict[idx] = idx * idx


if __name__ == '__main__':
    manager = multiprocessing.Manager()
    temp_dict = manager.dict()
    pool = multiprocessing.Pool(4)
    for i in range(100):
        pool.apply_async(test, args=(i, temp_dict))
    pool.close()
    pool.join()
    print(sorted(temp_dict.items()))
