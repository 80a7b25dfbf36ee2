package mailmsg

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// chunked hands out data in pieces of the given sizes (cycled), then end
// (io.EOF when nil), with the last piece when withLast.
type chunked struct {
	data     []byte
	sizes    []int
	i        int
	end      error
	withLast bool
}

func (c *chunked) Read(p []byte) (int, error) {
	end := c.end
	if end == nil {
		end = io.EOF
	}
	if len(c.data) == 0 {
		return 0, end
	}
	n := min(len(p), len(c.data), max(1, c.sizes[c.i%len(c.sizes)]))
	c.i++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.withLast {
		return n, end
	}
	return n, nil
}

// qpReads reads r with reads of the given sizes (cycled) until an error,
// and says what each read gave.
func qpReads(r io.Reader, sizes []int) string {
	var out strings.Builder
	p := make([]byte, 9000)
	for i := 0; i < 100000; i++ {
		n, err := r.Read(p[:sizes[i%len(sizes)]])
		fmt.Fprintf(&out, "%q %v\n", p[:n], err)
		if err != nil {
			break
		}
	}
	return out.String()
}

func checkQP(t *testing.T, data []byte, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	var under, reads []int
	for range 1 + rnd.IntN(4) {
		under = append(under, 1+rnd.IntN(5000))
		reads = append(reads, rnd.IntN(5000))
	}
	if rnd.IntN(3) == 0 {
		reads = append(reads, 1) // byte by byte now and then
	}
	var end error
	if rnd.IntN(2) == 0 {
		end = io.ErrUnexpectedEOF
	}
	withLast := rnd.IntN(2) == 0
	want := qpReads(quotedprintable.NewReader(&chunked{data: data, sizes: under, end: end, withLast: withLast}), reads)
	got := qpReads(newQPReader(bufio.NewReader(&chunked{data: data, sizes: under, end: end, withLast: withLast})), reads)
	if got != want {
		t.Fatalf("qpReader on %q (reads %v of %v, end %v):\n%s\nmime/quotedprintable:\n%s", data, reads, under, end, got, want)
	}
}

var qpSamples = []string{
	"", "=", "a=", "a=\r\n", "a= \r\nb", "a=\rb\r\n", "=4", "=4\r\n", "=41=42", "=4g", "=G1x", "=\r", "= \t",
	"caf=C3=A9 =E2=80=94 tr=C3=A8s\r\nbien\r\n", "line with trailing space   \r\nnext\t\n", "soft=\nbreak=\r\nend",
	"bad \x01 byte", "del \x7f", "8bit \xc3\xa9 ok", "a=\r \nb", "x=\n=\n=", "=3D=3d=3", "\r\n\r\n\n", "a\rb\rc",
	strings.Repeat("long ", 1000) + "\r\nnext", strings.Repeat("x", 4095) + "=\r\ny", strings.Repeat("y", 4096),
	strings.Repeat("z", 4094) + "=41\r\n", strings.Repeat("=41", 1500) + "\n",
}

func TestQPReaderIsMimeQuotedprintable(t *testing.T) {
	for _, s := range qpSamples {
		for seed := range uint64(40) {
			checkQP(t, []byte(s), seed)
		}
	}
	for _, s := range qpSamples {
		for seed := range uint64(40) {
			checkQP(t, []byte(strings.Repeat(s+"\n", 1+int(seed)%3)), seed)
		}
	}
}

func FuzzQPReader(f *testing.F) {
	for i, s := range qpSamples {
		f.Add([]byte(s), uint64(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		checkQP(t, data, seed)
	})
}

// sameRead says how Read and the go-message way differ on raw, or "".
func sameRead(raw []byte, opts Options) string {
	got, gotErr := read(bytes.NewReader(raw), opts, false)
	want, wantErr := read(bytes.NewReader(raw), opts, true)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !errors.Is(gotErr, ErrNoHeader) != !errors.Is(wantErr, ErrNoHeader) {
		return fmt.Sprintf("error %v, go-message %v", gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%+v\ngo-message:\n%+v", got, want)
	}
	return ""
}

func mailFiles(t testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{filepath.Join("..", "..", "shared", "corpus"), filepath.Join("..", "testdata", "mail")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d sample messages found", len(out))
	}
	return out
}

// qpMessages are messages whose quoted-printable parts go wrong in the
// ways a decoder can: a bad escape, a bad byte, a line over bufio's 4096
// bytes, a charset to convert, a cut in the middle.
func qpMessages() [][]byte {
	single := func(cte, charset, body string) []byte {
		ct := "text/plain"
		if charset != "" {
			ct += "; charset=" + charset
		}
		return []byte("From: a@example.com\r\nSubject: s\r\nContent-Type: " + ct + "\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + body)
	}
	multi := func(cte, charset, body string) []byte {
		return []byte("From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=" + charset +
			"\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + body + "\r\n--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>h=C3=A9</p>\r\n--b--\r\n")
	}
	var out [][]byte
	for _, body := range []string{"caf=C3=A9 ok\r\n", "bad =ZZ escape\r\n", "bad \x01 byte\r\n", strings.Repeat("w", 5000) + "\r\nafter\r\n",
		"cut in the middle=", "soft=\r\nbreak", "caf=E9 latin\r\n", "=\r\n", strings.Repeat("=41", 3000)} {
		for _, cte := range []string{"quoted-printable", "Quoted-Printable", "QUOTED-PRINTABLE ", "8bit"} {
			for _, cs := range []string{"", "utf-8", "UTF-8", "iso-8859-1", "x-unknown"} {
				out = append(out, single(cte, cs, body), multi(cte, cs, body))
				m := multi(cte, cs, body)
				out = append(out, m[:len(m)*2/3])
			}
		}
	}
	return out
}

func TestReadIsGoMessage(t *testing.T) {
	msgs := append(mailFiles(t), qpMessages()...)
	for _, opts := range []Options{{}, {MaxBodyBytes: 100}, {MaxBodyBytes: 4096, MaxReadBytes: 3000, MaxDepth: 2}} {
		for i, raw := range msgs {
			if d := sameRead(raw, opts); d != "" {
				t.Fatalf("message %d (%q…), %+v: %s", i, raw[:min(len(raw), 80)], opts, d)
			}
		}
	}
}

func FuzzReadIsGoMessage(f *testing.F) {
	for _, raw := range mailFiles(f) {
		f.Add(raw)
	}
	for _, raw := range qpMessages() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if d := sameRead(raw, Options{MaxBodyBytes: 4096, MaxReadBytes: 1 << 16, MaxDepth: 8}); d != "" {
			t.Fatal(d)
		}
	})
}

// TestReadConcurrentlyIsReadAlone reads the sample mail on several
// goroutines at once, in different orders: the pooled readers and buffers
// must leave nothing of one message in another.
func TestReadConcurrentlyIsReadAlone(t *testing.T) {
	msgs := append(mailFiles(t), qpMessages()...)
	want := make([]*Message, len(msgs))
	for i, raw := range msgs {
		want[i], _ = Read(bytes.NewReader(raw), Options{})
	}
	errs := make(chan string, 4)
	for g := range 4 {
		go func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 2))
			var got []*Message
			order := rnd.Perm(len(msgs))
			for _, i := range order {
				m, _ := Read(bytes.NewReader(msgs[i]), Options{})
				got = append(got, m)
			}
			for k, i := range order {
				if !reflect.DeepEqual(got[k], want[i]) {
					errs <- fmt.Sprintf("message %d read on goroutine %d differs", i, g)
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestReadChunksIgnoresCapacity reads bad base64 into buffers of several
// capacities: what is read and the error must be the same, as the
// buffers come from a pool with whatever capacity an earlier message
// left (FuzzReadIsGoMessage found the error's offset changing).
func TestReadChunksIgnoresCapacity(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("interview on monday "), 400))
	for _, bad := range []int{15, 700, 1500, 5000, len(good) - 3} {
		src := good[:bad] + "!" + good[bad+1:]
		var first string
		for _, c := range []int{0, 64, 4096, 100 << 10, 1 << 20} {
			var dst bytes.Buffer
			dst.Grow(c)
			err := readChunks(&dst, base64.NewDecoder(base64.StdEncoding, strings.NewReader(src)))
			got := fmt.Sprintf("%d bytes %x, %v", dst.Len(), sha256.Sum256(dst.Bytes()), err)
			if err == nil {
				t.Fatalf("bad byte at %d: no error", bad)
			}
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("bad byte at %d, capacity %d: %s; capacity 0: %s", bad, c, got, first)
			}
		}
	}
}
