"""The project memory: MEMORY.md (at most 200 lines), topic files and session transcripts."""
