module github.com/rsvp-mail/rsvp

go 1.26.0

require (
	github.com/emersion/go-message v0.18.2
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/net v0.62.0
	golang.org/x/text v0.43.0
)
