"""Few distinct batch shapes, so that memory stays bounded by the token budget.

oneDNN (torch's CPU backend for int8 linear layers) builds and caches a primitive for every input shape it meets,
up to 1024 of them, and the process heap keeps the memory around them. Batches padded to their own longest text
take as many shapes as there are lengths, and the reader's resident memory grew with the number of questions it had
read: 1.45 GiB after 50 questions, 2.36 GiB after 800. Widths rounded up to a multiple of 16 keep it flat, for about
4% more padded tokens (bench/RESULTS.md).
"""

PAD_TO_MULTIPLE_OF = 16


def padded_width(longest: int, limit: int | None = None) -> int:
    """
    The width a batch whose longest row has ``longest`` tokens is padded to.

    :param longest: tokens in the batch's longest row.
    :param limit: most tokens the model takes (``max_seq_len``); the rounding never goes past it.
    :returns: ``longest`` rounded up to a multiple of :data:`PAD_TO_MULTIPLE_OF`, at most ``limit`` (but never
        below ``longest``).
    """
    rounded = -(-longest // PAD_TO_MULTIPLE_OF) * PAD_TO_MULTIPLE_OF
    if limit is not None:
        rounded = min(rounded, limit)
    return max(longest, rounded)
