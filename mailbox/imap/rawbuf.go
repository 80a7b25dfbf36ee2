package imap

import (
	"math/bits"
	"sync"
)

// A backfill fetches hundreds of megabytes, a batch at a time, into a
// buffer per message; nearly all are dropped once classified. Handed back
// (Recycle), a buffer is fetched into again, so those bytes stop counting
// toward the next garbage collection: they were a third of everything a
// backfill allocated.
//
// Buffers come in size classes four to a doubling (at most a quarter
// wasted), from 1 KB to maxPrealloc; each class is a sync.Pool, so what
// is not used again is collected as before.
const (
	rawMinShift = 10 // classes start above 1 KB
	rawMaxShift = 20 // and end at maxPrealloc
	rawSteps    = 4  // classes per doubling
)

var rawPools [(rawMaxShift - rawMinShift) * rawSteps]sync.Pool

// rawClass is the index of the smallest class of at least n bytes, and
// that class's size; ok is false when n is over the largest class.
func rawClass(n int) (i, size int, ok bool) {
	n = max(n, 1<<rawMinShift+1)
	// n is in (2^k, 2^(k+1)]: the classes there are 2^k·(1 + j/4).
	k := bits.Len(uint(n-1)) - 1
	step := 1 << (k - 2)
	j := (n - 1<<k + step - 1) / step // 1..4
	i = (k-rawMinShift)*rawSteps + j - 1
	if i >= len(rawPools) {
		return 0, 0, false
	}
	return i, 1<<k + j*step, true
}

// getRaw returns a buffer of length n, recycled when one is at hand.
func getRaw(n int) []byte {
	i, size, ok := rawClass(n)
	if !ok {
		return make([]byte, n)
	}
	if p, _ := rawPools[i].Get().(*[]byte); p != nil {
		return (*p)[:n]
	}
	return make([]byte, n, size)
}

// putRaw keeps b for a later getRaw. Only a buffer getRaw made is kept
// (its capacity is a class's size); nothing may use b afterwards.
func putRaw(b []byte) {
	if cap(b) == 0 {
		return
	}
	i, size, ok := rawClass(cap(b))
	if !ok || size != cap(b) {
		// Not one of getRaw's.
		return
	}
	b = b[:0]
	rawPools[i].Put(&b)
}
