# Seed 004's prime finder, as a bramble command task: it prints the primes of [min, max], one per
# line, instead of sending each one to a head over a socket (bramble collects stdout, in chunk order).
#   bramble submit exec --start 1 --end 1e6 --chunk 1e4 --file examples/primes.py -- python3 primes.py {start} {end}
import sys


def is_prime(n):
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    for i in range(3, int(n**0.5) + 1, 2):
        if n % i == 0:
            return False
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("Usage: python3 primes.py MIN MAX", file=sys.stderr)
        sys.exit(1)
    min_val, max_val = int(sys.argv[1]), int(sys.argv[2])
    out = sys.stdout
    for value in range(min_val, max_val + 1):
        if is_prime(value):
            out.write(f"{value}\n")
