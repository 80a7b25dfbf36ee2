#!/usr/bin/env bash
# Runs every test rsvp has: formatting, vet, unit and integration tests with
# the race detector, a short fuzz run and one pass of each benchmark.
#
#   ./scripts/test.sh            everything
#   FUZZTIME=2m ./scripts/test.sh   fuzz each target for 2 minutes instead
#
# It installs what the tests need when it is missing (Debian packages, with
# sudo when not root): Dovecot for the IMAP integration tests, dbus-daemon
# for the desktop-notification tests, imapfilter for the benchmark's peer.
# With CI=true a missing server is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-}

say() { printf '\n== %s\n' "$*"; }

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		if [ -x /usr/local/go/bin/go ]; then
			export PATH="/usr/local/go/bin:$PATH"
		else
			echo "Go is not installed: see https://go.dev/doc/install" >&2
			exit 1
		fi
	fi
}

# need_pkg COMMAND PACKAGE installs the Debian package when the command is
# missing (Debian keeps daemons in /usr/sbin, off a normal user's PATH).
need_pkg() {
	if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; then
		return
	fi
	say "installing $2 (for the integration tests)"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	if [ -z "${apt_updated:-}" ]; then
		$sudo apt-get update -qq
		apt_updated=1
	fi
	shift
	# Several names: the first the archive has (dbus-daemon is its own
	# package from Debian 12 on, part of dbus before).
	local p
	for p in "$@"; do
		if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$p"; then
			return
		fi
	done
	echo "could not install any of: $*" >&2
	exit 1
}

need_go
say "go $(go env GOVERSION) on $(go env GOOS)/$(go env GOARCH)"
need_pkg dovecot dovecot-imapd
need_pkg dbus-daemon dbus-daemon dbus
need_pkg imapfilter imapfilter
need_pkg make make                       # internal/installtest runs make install
need_pkg systemd-analyze systemd         # and systemd-analyze --user verify on the unit

# The shared corpus sits beside the repository (../shared/corpus).
if [ ! -f ../shared/corpus/labels.json ]; then
	echo "missing ../shared/corpus (the team's labelled sample mail) beside the repository" >&2
	exit 1
fi

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

say "go vet"
go vet ./...

say "go test -race"
go test -race -count=1 -timeout 30m ./...

say "recognition figures (precision and recall of the classifier, field accuracy)"
go test -count=1 -run 'Corp|ExtractGetsEvery' -v ./classifier | grep -E 'precision|^extract:'

say "Gmail API quota per new message (goal: at most 10 units, drafts.create aside)"
go test -count=1 -run 'QuotaPerNewMessage' -v ./mailbox/gmail | grep -E 'units'

say "rsvp demo --yes (the README's first command, answering by itself)"
go run ./cmd/rsvp demo --yes > /tmp/rsvp-demo.$$.out
tail -n 9 /tmp/rsvp-demo.$$.out
grep -q '^Summary: 12 messages, 5 invitations: 5 drafts written, 0 ignored' /tmp/rsvp-demo.$$.out
rm -f /tmp/rsvp-demo.$$.out

say "IMAP benchmark, short run (full figures: go run ./internal/cmd/imapbench)"
go run ./internal/cmd/imapbench -quick | grep -E '^RESULT|goal|ratio|RSS|found|invitation found'

# Fuzz budgets are counts of inputs (about 20 s each here), not durations:
# with a duration, Go before 1.27 can fail a target with "context deadline
# exceeded" when the time runs out under load (golang/go#75804), a failure
# that found nothing. FUZZTIME overrides them all.
fuzz() { # package target inputs
	go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-$3x}" -fuzzminimizetime 5s "./$1"
}
say "fuzz (${FUZZTIME:-a fixed number of inputs} each)"
fuzz mailmsg FuzzRead 100000
fuzz mailmsg FuzzFreshText 150000
fuzz mailmsg FuzzNormalizeText 150000
fuzz mailmsg FuzzAppendFields 400000
fuzz mailmsg FuzzParseDate 300000
fuzz mailmsg FuzzQPReader 60000
fuzz mailmsg FuzzReadIsGoMessage 100000
fuzz mailmsg FuzzFastTokenizer 80000
fuzz classifier FuzzReadClassify 25000
fuzz classifier FuzzPatternPrefilter 12000
fuzz classifier FuzzFold 200000

say "benchmarks (one pass each, to keep them working; figures: go test -bench . ./classifier)"
go test -run '^$' -bench . -benchtime 1x ./... >/dev/null

say "all tests passed"
