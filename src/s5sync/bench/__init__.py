"""`s5sync bench`: Graph requests, CPU, throughput and memory of the cycle (issue 12)."""
