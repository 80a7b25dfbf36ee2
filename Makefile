# rsvp: build, test, and install for one user (no root, no sudo).
#
#   make                 build ./rsvp
#   make test            every test (./scripts/test.sh)
#   make install         the binary, the systemd user unit, a starter config
#   make uninstall       remove the binary and the unit; keeps config and state
#
# Paths follow the XDG base directories, as rsvp itself does. Override on
# the command line, e.g. make install BINDIR=$HOME/bin (the unit then runs
# that binary).

# Go from PATH, else where scripts/test.sh also looks for it.
GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
SYSTEMCTL ?= systemctl
# The version from git, else "dev"; worked out on first use only, so that
# uninstall and test never run git.
VERSION   ?= $(eval VERSION := $$(shell git describe --tags --always --dirty 2>/dev/null || echo dev))$(VERSION)

PREFIX   ?= $(HOME)/.local
BINDIR   ?= $(PREFIX)/bin
# rsvp takes XDG_CONFIG_HOME and XDG_STATE_HOME only when they are absolute
# (config.DefaultPath, config.StateDir); so does this.
CONFIG_HOME := $(or $(filter /%,$(XDG_CONFIG_HOME)),$(HOME)/.config)
STATE_HOME  := $(or $(filter /%,$(XDG_STATE_HOME)),$(HOME)/.local/state)
UNITDIR  ?= $(CONFIG_HOME)/systemd/user
CONFDIR  ?= $(CONFIG_HOME)/rsvp
STATEDIR ?= $(STATE_HOME)/rsvp

GOBUILD  = $(GO) build -trimpath -ldflags "-X github.com/rsvp-mail/rsvp/cli.Version=$(VERSION)"
UNIT    := systemd/rsvp.service
# The unit runs %h/.local/bin/rsvp; another BINDIR is written into the
# installed copy (with % doubled, as systemd wants).
DEFAULT_BINDIR := $(abspath $(HOME)/.local/bin)
BIN := $(abspath $(BINDIR))/rsvp

# A user manager is there when systemctl reaches it. Without one (a
# container, CI, an SSH session without lingering) the install goes on and
# says what to run later.
HAVE_USER_MANAGER := command -v $(SYSTEMCTL) >/dev/null 2>&1 && $(SYSTEMCTL) --user show-environment >/dev/null 2>&1

.PHONY: build test install uninstall version

build:
	$(GOBUILD) -o rsvp ./cmd/rsvp

test:
	./scripts/test.sh

version:
	@echo $(VERSION)

install:
	@if [ -n "$$SUDO_USER" ] || [ -z "$(HOME)" ]; then \
		echo "make install installs rsvp for one user: run it as yourself, without sudo" >&2; exit 1; fi
	mkdir -p "$(BINDIR)" "$(UNITDIR)"
	@# Build beside the old binary, then rename over it: a running rsvp
	@# keeps its file, and no half-written binary is ever in place.
	$(GOBUILD) -o "$(BIN).new" ./cmd/rsvp
	chmod 0755 "$(BIN).new"
	mv -f "$(BIN).new" "$(BIN)"
	@if [ "$(abspath $(BINDIR))" = "$(DEFAULT_BINDIR)" ]; then \
		cp "$(UNIT)" "$(UNITDIR)/rsvp.service.new"; \
	else \
		sed 's|^ExecStart=%h/.local/bin/rsvp |ExecStart=$(subst %,%%,$(BIN)) |' "$(UNIT)" > "$(UNITDIR)/rsvp.service.new"; \
	fi
	chmod 0644 "$(UNITDIR)/rsvp.service.new"
	mv -f "$(UNITDIR)/rsvp.service.new" "$(UNITDIR)/rsvp.service"
	@# The config may hold a password: 0600, and never overwritten (a
	@# symlink, even a dangling one, counts as a config too).
	@if [ -e "$(CONFDIR)/config.yaml" ] || [ -L "$(CONFDIR)/config.yaml" ]; then \
		echo "kept your config $(CONFDIR)/config.yaml"; \
	else \
		[ -d "$(CONFDIR)" ] || mkdir -p -m 0700 "$(CONFDIR)"; \
		install -m 0600 config.example.yaml "$(CONFDIR)/config.yaml" && \
		echo "wrote a starter config $(CONFDIR)/config.yaml (a copy of config.example.yaml)"; \
	fi
	[ -d "$(STATEDIR)" ] || mkdir -p -m 0700 "$(STATEDIR)"
	@if $(HAVE_USER_MANAGER); then \
		$(SYSTEMCTL) --user daemon-reload || echo "systemctl --user daemon-reload failed; run it yourself" >&2; \
	fi
	@echo
	@echo "rsvp $(VERSION) is installed:"
	@echo "  binary  $(BIN)"
	@echo "  unit    $(UNITDIR)/rsvp.service"
	@echo "  config  $(CONFDIR)/config.yaml"
	@echo "  state   $(STATEDIR)"
	@case ":$$PATH:" in *":$(abspath $(BINDIR)):"*) ;; *) echo "  ($(BINDIR) is not on your PATH: add it, or type the full path)";; esac
	@echo
	@echo "Next:"
	@echo "  1. Edit $(CONFDIR)/config.yaml: who you are (me:) and your mailboxes (accounts:)."
	@echo "  2. Check it:   $(BIN) check-config"
	@echo "  3. Start it:   systemctl --user daemon-reload && systemctl --user enable --now rsvp"
	@echo "     Watch it:   systemctl --user status rsvp; journalctl --user -u rsvp -f"
	@if $(HAVE_USER_MANAGER) && $(SYSTEMCTL) --user is-active --quiet rsvp.service; then \
		echo "  rsvp is running the previous binary: systemctl --user restart rsvp"; fi

uninstall:
	@if $(HAVE_USER_MANAGER); then $(SYSTEMCTL) --user disable --now rsvp.service 2>/dev/null || true; fi
	rm -f "$(BIN)" "$(UNITDIR)/rsvp.service" "$(UNITDIR)/default.target.wants/rsvp.service"
	@if $(HAVE_USER_MANAGER); then \
		$(SYSTEMCTL) --user daemon-reload || true; \
		$(SYSTEMCTL) --user reset-failed rsvp.service 2>/dev/null || true; \
	fi
	@echo "Removed the rsvp binary and its systemd unit."
	@echo "Kept your config ($(CONFDIR)) and state ($(STATEDIR): invitations, decisions, tokens);"
	@echo "remove them yourself to forget everything: rm -r \"$(CONFDIR)\" \"$(STATEDIR)\""
	@if [ -d "$(UNITDIR)/rsvp.service.d" ]; then echo "Kept your unit overrides in $(UNITDIR)/rsvp.service.d"; fi
