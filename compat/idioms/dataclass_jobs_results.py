# Idiom program, written for netpool (not a copy of public code).
# What it does: dataclasses defined in the script as both task arguments and results, with
# imap and a function carried inside the argument.
# Idiom as seen in: the "DataPacket"/"ResultPacket" pattern of dataclass jobs for Pool.map/starmap seen in
#   public code (e.g. RobinChen121/Python-Practices for a __main__ class; dataclass packets
#   carrying a function and a chunk in several GitHub projects).
# Written anew in that idiom; no code copied.
# Changes: none needed.
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Any, Callable, List


@dataclass
class DataPacket:
    id: int
    func: Callable
    chunk: List[Any]


@dataclass
class ResultPacket:
    id: int
    result: Any

    def holds_error(self) -> bool:
        return isinstance(self.result, Exception)


def double(x):
    return 2 * x


def run_packet(packet: DataPacket) -> ResultPacket:
    try:
        return ResultPacket(packet.id, [packet.func(x) for x in packet.chunk])
    except Exception as e:
        return ResultPacket(packet.id, e)


if __name__ == '__main__':
    packets = [DataPacket(i, double, list(range(i, i + 3))) for i in range(4)]
    packets.append(DataPacket(4, double, [None]))
    with Pool(2) as pool:
        for res in pool.imap(run_packet, packets):
            print(res.id, res.holds_error(), res.result if not res.holds_error() else type(res.result).__name__)
