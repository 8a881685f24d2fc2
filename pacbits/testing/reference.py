"""Independent reference computations that coders are measured against."""
from __future__ import annotations

import heapq


def optimal_huffman_bits(counts) -> int:
    """Bits of an optimal (length-unlimited) Huffman code for symbol counts: the sum of all merged weights."""
    heap = [int(c) for c in counts if c]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost
