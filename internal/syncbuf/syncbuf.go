// Package syncbuf is a bytes.Buffer that one goroutine may read while
// others write to it: how tests collect logs and protocol traces.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a locked bytes.Buffer; the zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
