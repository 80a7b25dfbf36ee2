// Package bufpool keeps byte buffers for reuse: the memory of a message a
// backfill is done with holds the next one, so those bytes stop counting
// toward the next garbage collection.
//
// Buffers come in size classes four to a doubling (at most a quarter
// wasted), from 1 KB to MaxSize; each class is a sync.Pool, so what is not
// used again is collected as before.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 10 // classes start above 1 KB
	maxShift = 20 // and end at MaxSize
	steps    = 4  // classes per doubling
)

// MaxSize is the largest buffer kept.
const MaxSize = 1 << maxShift

var pools [(maxShift - minShift) * steps]sync.Pool

// class is the index of the smallest class of at least n bytes, and that
// class's size; ok is false when n is over the largest class.
func class(n int) (i, size int, ok bool) {
	n = max(n, 1<<minShift+1)
	// n is in (2^k, 2^(k+1)]: the classes there are 2^k·(1 + j/4).
	k := bits.Len(uint(n-1)) - 1
	step := 1 << (k - 2)
	j := (n - 1<<k + step - 1) / step // 1..4
	i = (k-minShift)*steps + j - 1
	if i >= len(pools) {
		return 0, 0, false
	}
	return i, 1<<k + j*step, true
}

// Get returns a buffer of length n, recycled when one is at hand. Its
// bytes are not zeroed.
func Get(n int) []byte {
	i, size, ok := class(n)
	if !ok {
		return make([]byte, n)
	}
	if p, _ := pools[i].Get().(*[]byte); p != nil {
		return (*p)[:n]
	}
	return make([]byte, n, size)
}

// Put keeps b for a later Get. Only a buffer Get made is kept (its
// capacity is a class's size); nothing may use b afterwards.
func Put(b []byte) {
	if cap(b) == 0 {
		return
	}
	i, size, ok := class(cap(b))
	if !ok || size != cap(b) {
		// Not one of Get's.
		return
	}
	b = b[:0]
	pools[i].Put(&b)
}
