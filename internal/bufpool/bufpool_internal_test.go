package bufpool

import "testing"

func TestClasses(t *testing.T) {
	for n := 0; n <= MaxSize+1; n += 1 + n/64 {
		_, size, ok := class(n)
		if ok != (n <= MaxSize) {
			t.Fatalf("class(%d): ok %v", n, ok)
		}
		if !ok {
			continue
		}
		if size < n || n > 1<<minShift && size > n+n/4 {
			t.Fatalf("class(%d) = size %d, want at least n and at most n·1.25", n, size)
		}
		b := Get(n)
		if len(b) != n || cap(b) != size {
			t.Fatalf("Get(%d): len %d cap %d, want len %d cap %d", n, len(b), cap(b), n, size)
		}
		Put(b)
	}
	// Only Get's buffers are kept: one of another capacity is left to the
	// garbage collector.
	Put(make([]byte, 5000))
	if b := Get(4999); cap(b) == 5000 {
		t.Fatalf("Get handed out a buffer Put should not have kept")
	}
}
