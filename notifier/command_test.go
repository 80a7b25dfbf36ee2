package notifier_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/notifier"
)

// writeScript writes a shell script into a fresh directory, available to
// the script as $D, and returns its path and the directory.
func writeScript(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "ask.sh")
	script := "#!/bin/sh\nD='" + dir + "'\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func startCommand(t *testing.T, script string, timeout time.Duration) (*notifier.Command, *logBuffer) {
	t.Helper()
	logger, lb := newLogger()
	c, err := notifier.NewCommand(notifier.CommandOptions{Argv: []string{script}, Timeout: timeout, Logger: logger})
	if err != nil {
		t.Fatalf("NewCommand: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("notifier log:\n%s", lb.String())
		}
	})
	return c, lb
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// processGone reports whether pid has exited (a zombie counts: it runs no
// more, and a container's init may never reap it).
func processGone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func TestCommandAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		output string
		want   notifier.Answer
	}{
		{"one word", `echo decline`, notifier.Answer{Action: "decline"}},
		{"a word in any case, as zenity --list prints it", `echo Reschedule`, notifier.Answer{Action: "reschedule"}},
		{"ignore", `echo IGNORE`, notifier.Answer{Action: "ignore"}},
		{"a line with a reason", `echo 'decline I accepted another offer'`, notifier.Answer{Action: "decline", Reason: "I accepted another offer"}},
		{"a JSON object with a reason", `printf '{"action":"decline","reason":"timing"}'`, notifier.Answer{Action: "decline", Reason: "timing"}},
		{"a JSON object without a reason", `echo '{"action": "reschedule"}'`, notifier.Answer{Action: "reschedule"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, _ := writeScript(t, "cat >/dev/null\n"+tc.output)
			c, _ := startCommand(t, script, 0)
			ask(t, c, sampleQuestion(qid))
			tc.want.ID = qid
			wantAnswer(t, c, tc.want)
		})
	}
}

func TestCommandGetsTheQuestionAsJSON(t *testing.T) {
	script, dir := writeScript(t, `
input=$(cat)
printf '%s' "$input" > "$D/stdin.json"
case "$input" in
*'"id":"k3v7qzxa"'*) ;;
*) echo "the id is not in: $input" >&2; exit 3 ;;
esac
[ "$RSVP_ID" = k3v7qzxa ] || { echo "RSVP_ID=$RSVP_ID" >&2; exit 4; }
[ "$RSVP_SUMMARY" = "Reminder: Interview invitation — Acme: Go Engineer" ] || { echo "RSVP_SUMMARY=$RSVP_SUMMARY" >&2; exit 5; }
case "$RSVP_BODY" in
"From: Jane Doe <jane@acme.example>"*) ;;
*) echo "RSVP_BODY=$RSVP_BODY" >&2; exit 6 ;;
esac
echo decline`)
	c, _ := startCommand(t, script, 0)
	q := sampleQuestion(qid)
	q.Reminder = true
	ask(t, c, q)
	wantAnswer(t, c, notifier.Answer{ID: qid, Action: "decline"})

	var got map[string]any
	stdin := readFile(t, filepath.Join(dir, "stdin.json"))
	if err := json.Unmarshal([]byte(stdin), &got); err != nil {
		t.Fatalf("stdin is not JSON: %v\n%s", err, stdin)
	}
	want := map[string]any{
		"id": qid, "account": "work", "company": "Acme", "role": "Go Engineer",
		"from_name": "Jane Doe", "from_addr": "jane@acme.example", "reply_to": "jane@acme.example",
		"subject": "Quick chat about a Go role?", "received": "2026-03-02T09:15:00Z",
		"times":    []any{"2026-03-05T14:00:00Z", "2026-03-06T10:30:00Z"},
		"why":      []any{"asks for a call", "names a role", "recruiter signature", "mentions salary"},
		"reminder": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stdin =\n%v\nwant\n%v", got, want)
	}
}

func TestCommandFailuresGiveNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string // run for the first question; the second one is answered "ignore"
		timeout time.Duration
		logs    []string
	}{
		{
			name:   "a non-zero exit",
			script: `echo decline; echo 'zenity: cannot open display' >&2; exit 1`,
			logs:   []string{"notify command failed", "exit status 1", "cannot open display"},
		},
		{
			name:   "garbled output",
			script: `echo 'maybe later'`,
			logs:   []string{"no usable answer", `\"maybe\" is not an answer`},
		},
		{
			name:   "empty output, as a cancelled dialog gives",
			script: `exit 0`,
			logs:   []string{"no usable answer", "empty output"},
		},
		{
			name:    "a command that hangs is killed with its children",
			script:  `echo 'waiting for the user' >&2; sleep 300 & echo $! > "$D/child.pid"; wait`,
			timeout: 500 * time.Millisecond,
			logs:    []string{"no answer in time and was killed", "timeout=500ms", "waiting for the user"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, dir := writeScript(t, `cat >/dev/null
if [ "$RSVP_ID" = second22 ]; then echo ignore; exit 0; fi
`+tc.script)
			c, lb := startCommand(t, script, tc.timeout)
			ask(t, c, sampleQuestion(qid))
			ask(t, c, sampleQuestion("second22"))
			// Questions run in order: an answer to the first would come first.
			wantAnswer(t, c, notifier.Answer{ID: "second22", Action: "ignore"})
			for _, want := range tc.logs {
				if lb.Count(want) == 0 {
					t.Errorf("log lacks %q:\n%s", want, lb)
				}
			}
			if pidText := readFile(t, filepath.Join(dir, "child.pid")); pidText != "" {
				pid, err := strconv.Atoi(strings.TrimSpace(pidText))
				if err != nil {
					t.Fatal(err)
				}
				waitUntil(t, "the command's child to be killed", func() bool { return processGone(pid) }, func() string { return pidText })
			}
		})
	}
}

// gateScript answers "ignore" and logs when each run starts and ends; the
// run for first111 waits until the file $D/release exists.
const gateScript = `
cat > "$D/$RSVP_ID.json"
echo "start $RSVP_ID" >> "$D/log"
if [ "$RSVP_ID" = first111 ]; then
	while [ ! -e "$D/release" ]; do sleep 0.01; done
fi
echo "end $RSVP_ID" >> "$D/log"
echo ignore`

func release(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCommandAsksOneQuestionAtATime(t *testing.T) {
	script, dir := writeScript(t, gateScript)
	c, _ := startCommand(t, script, 0)
	for _, id := range []string{"first111", "second22", "third333"} {
		ask(t, c, sampleQuestion(id))
	}
	logPath := filepath.Join(dir, "log")
	waitUntil(t, "the first run to start", func() bool { return readFile(t, logPath) != "" }, func() string { return readFile(t, logPath) })
	noAnswer(t, c)
	if got := readFile(t, logPath); got != "start first111\n" {
		t.Fatalf("while the first run waits, log = %q; want only the first run started", got)
	}
	release(t, dir)
	for _, id := range []string{"first111", "second22", "third333"} {
		wantAnswer(t, c, notifier.Answer{ID: id, Action: "ignore"})
	}
	want := "start first111\nend first111\nstart second22\nend second22\nstart third333\nend third333\n"
	if got := readFile(t, logPath); got != want {
		t.Errorf("runs = %q, want one after the other: %q", got, want)
	}
}

func TestCommandQueue(t *testing.T) {
	t.Run("withdrawing a queued question drops it", func(t *testing.T) {
		script, dir := writeScript(t, gateScript)
		c, _ := startCommand(t, script, 0)
		ask(t, c, sampleQuestion("first111"))
		ask(t, c, sampleQuestion("second22"))
		ask(t, c, sampleQuestion("third333"))
		if err := c.Withdraw(bg, "second22"); err != nil {
			t.Fatal(err)
		}
		release(t, dir)
		wantAnswer(t, c, notifier.Answer{ID: "first111", Action: "ignore"})
		wantAnswer(t, c, notifier.Answer{ID: "third333", Action: "ignore"})
		if log := readFile(t, filepath.Join(dir, "log")); strings.Contains(log, "second22") {
			t.Errorf("the withdrawn question ran: %q", log)
		}
	})

	t.Run("asking again replaces a queued question in place", func(t *testing.T) {
		script, dir := writeScript(t, gateScript)
		c, _ := startCommand(t, script, 0)
		ask(t, c, sampleQuestion("first111"))
		ask(t, c, sampleQuestion("second22"))
		ask(t, c, sampleQuestion("third333"))
		reminder := sampleQuestion("second22")
		reminder.Reminder = true
		ask(t, c, reminder)
		release(t, dir)
		for _, id := range []string{"first111", "second22", "third333"} {
			wantAnswer(t, c, notifier.Answer{ID: id, Action: "ignore"})
		}
		if log := readFile(t, filepath.Join(dir, "log")); strings.Count(log, "start second22") != 1 {
			t.Errorf("second22 ran %d times, want once: %q", strings.Count(log, "start second22"), log)
		}
		if got := readFile(t, filepath.Join(dir, "second22.json")); !strings.Contains(got, `"reminder":true`) {
			t.Errorf("second22 ran with %s, want the reminder", got)
		}
	})

	t.Run("withdrawing the running question kills its command", func(t *testing.T) {
		script, dir := writeScript(t, `cat >/dev/null
if [ "$RSVP_ID" = second22 ]; then echo ignore; exit 0; fi
sleep 300 & echo $! > "$D/child.pid"; wait`)
		c, lb := startCommand(t, script, 0)
		ask(t, c, sampleQuestion(qid))
		pidPath := filepath.Join(dir, "child.pid")
		waitUntil(t, "the command to start", func() bool { return strings.HasSuffix(readFile(t, pidPath), "\n") }, func() string { return "" })
		pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidPath)))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Withdraw(bg, qid); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the command's child to be killed", func() bool { return processGone(pid) }, lb.String)
		ask(t, c, sampleQuestion("second22"))
		wantAnswer(t, c, notifier.Answer{ID: "second22", Action: "ignore"})
		if lb.Count("level=WARN") != 0 {
			t.Errorf("a withdrawn question was logged as a failure:\n%s", lb)
		}
	})
}

func TestNewCommandNeedsAProgram(t *testing.T) {
	for _, argv := range [][]string{nil, {""}, {filepath.Join(t.TempDir(), "no-such-dialog")}} {
		if c, err := notifier.NewCommand(notifier.CommandOptions{Argv: argv}); err == nil {
			c.Close()
			t.Errorf("NewCommand(%q) = nil error, want one", argv)
		}
	}
}
