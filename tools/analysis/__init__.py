"""Analyses over decoded trace events: CPU, allocations, contention, deadlocks, GC."""
