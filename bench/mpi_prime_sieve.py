# Seed 001's prime count in the shape of its prime.py (each rank takes its share by rank, rank 0
# gathers and prints the count), with a sieve per share so that [1, 1e7] takes seconds, not minutes.
# Usage: python3 mpi_prime_sieve.py END [START]
import sys
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
end = int(float(sys.argv[1]))
start = max(2, int(float(sys.argv[2])) if len(sys.argv) > 2 else 1)

span = end - start + 1
lo = start + span * rank // size
hi = start + span * (rank + 1) // size - 1  # inclusive

# small primes up to sqrt(end), then this rank's block [lo, hi] sieved by them
root = int(end ** 0.5) + 1
small = bytearray([1]) * (root + 1)
small[0:2] = b"\x00\x00"
for i in range(2, int(root ** 0.5) + 1):
    if small[i]:
        small[i * i :: i] = bytearray(len(small[i * i :: i]))
block = bytearray([1]) * (hi - lo + 1) if hi >= lo else bytearray()
for p in range(2, root + 1):
    if not small[p]:
        continue
    first = max(p * p, (lo + p - 1) // p * p)
    if first > hi:
        continue
    block[first - lo :: p] = bytearray(len(block[first - lo :: p]))
count = sum(block)

total = comm.reduce(count, op=MPI.SUM, root=0)
if rank == 0:
    print(total)
