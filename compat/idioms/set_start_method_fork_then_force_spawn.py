# Idiom program, written for netpool (not a copy of public code).
# What it does: set_start_method('fork'), a pool, set_start_method again (RuntimeError), then force='spawn' and a pool whose tasks report their start method.
# Idiom as seen in: unittest/logging/multiprocessing tutorials and Q&A answers (issue 8, round 3);
#   written anew, no code copied.
# Changes: none needed.
import multiprocessing as mp

def who(_):
    return mp.get_start_method(), mp.current_process().name.startswith(("ForkPoolWorker", "SpawnPoolWorker"))

if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as p:
        print(p.map(who, range(2)))
    print(mp.get_start_method())
    try:
        mp.set_start_method("spawn")
    except RuntimeError as e:
        print("RuntimeError", e)
    mp.set_start_method("spawn", force=True)
    with mp.Pool(1) as p:
        print(p.map(who, range(1)))
