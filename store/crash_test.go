package store_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/store"
)

// The crash test re-executes this test binary as a writer child; these
// variables tell the child where to write and where to start numbering.
const (
	crashDirEnv   = "RSVP_STORE_CRASH_DIR"
	crashStartEnv = "RSVP_STORE_CRASH_START"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild writes until it is killed, printing after each commit
// "<op> <id> <n>" so the parent knows what must survive.
func crashChild(dir string) {
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	ctx := context.Background()
	s, err := store.Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("open")
	for i := start; ; i++ {
		f := found(i % 60)
		f.MessageID = fmt.Sprintf("<crash-%d@test>", i)
		f.UID = uint32(i)
		inv, _, err := s.AddInvitation(ctx, f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		fmt.Printf("added %s %d\n", inv.ID, i)
		if i%2 == 0 {
			if _, err := s.Decide(ctx, inv.ID, store.ActionDecline, "crash test"); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				os.Exit(2)
			}
			fmt.Printf("decided %s %d\n", inv.ID, i)
		}
		if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 7, LastUID: uint32(i)}); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		fmt.Printf("cursor - %d\n", i)
	}
}

func TestCrashSafetyUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	next := 0
	decided := map[string]bool{} // every ID reported committed -> whether it was decided
	lastCursor := -1
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(next))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Round 0 may die while opening and creating the database; later
		// rounds once they write, at a random moment.
		if round > 0 {
			select {
			case <-lines:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: the child never opened the store; stderr: %s", round, stderr.String())
			}
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var reported []string
		for l := range lines {
			reported = append(reported, l)
		}
		cmd.Wait()
		if strings.Contains(stderr.String(), "child:") {
			t.Fatalf("round %d: the child failed: %s", round, stderr.String())
		}

		writes := 0
		for _, l := range reported {
			var op, id string
			var n int
			if l == "open" {
				continue
			}
			if _, err := fmt.Sscanf(l, "%s %s %d", &op, &id, &n); err != nil {
				continue // a line cut by the kill
			}
			writes++
			switch op {
			case "added":
				if _, ok := decided[id]; !ok {
					decided[id] = false
				}
			case "decided":
				decided[id] = true
			case "cursor":
				lastCursor = n
			}
			if n >= next {
				next = n + 1
			}
		}
		t.Logf("round %d: killed after %d reported writes", round, writes)

		s, err := store.Open(dir, nil)
		if err != nil {
			t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for id, wasDecided := range decided {
			inv, err := s.Get(ctx, id)
			if err != nil {
				t.Errorf("round %d: committed invitation %s lost: %v", round, id, err)
				continue
			}
			if wasDecided && inv.State != store.StateDecided {
				t.Errorf("round %d: invitation %s was decided, now %s", round, id, inv.State)
			}
		}
		if lastCursor >= 0 {
			c, ok, err := s.Cursor(ctx, "work", "INBOX")
			if err != nil || !ok || int(c.LastUID) < lastCursor {
				t.Errorf("round %d: cursor = %+v, %v, %v; want last UID at least %d", round, c, ok, err, lastCursor)
			}
		}
		s.Close()
		// Skip past anything the child may have committed without reporting.
		next += 10
	}
	if len(decided) == 0 {
		t.Errorf("the children reported no write at all")
	}
}
