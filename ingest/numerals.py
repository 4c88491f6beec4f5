"""Chinese numerals are read in ``ingest.grammar`` now; ``cn_number`` stays importable from here for
the code and tests written against this module before the grammar was one."""

from ingest.grammar import cn_number

__all__ = ["cn_number"]
