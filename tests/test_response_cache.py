"""The in-process response cache keeps what was read after a purge, never what was read before."""

from graph.execution.responses import CachedResponse, ResponseCache

TAGS = frozenset({"g:product:1", "g:listing:all"})


def entry() -> CachedResponse:
    return CachedResponse(b'{"product":null}', 1, 0, TAGS)


def test_a_response_read_after_the_last_purge_of_its_tags_is_kept() -> None:
    cache = ResponseCache()
    cache.purge({"g:listing:all"})
    started = cache.sequence()  # a reader that began after the write's purge
    assert cache.put(("q",), entry(), started)
    assert cache.get(("q",)) == entry()


def test_a_response_read_before_a_purge_of_its_tags_is_not_kept() -> None:
    cache = ResponseCache()
    started = cache.sequence()
    cache.purge({"g:product:1"})  # a write committed while it was being read
    assert not cache.put(("q",), entry(), started)
    assert cache.get(("q",)) is None
    cache.purge({"g:other"})  # a purge of other tags changes nothing for it
    assert not cache.put(("q",), entry(), started)
    assert cache.put(("q",), entry(), cache.sequence())
