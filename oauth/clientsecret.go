package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
)

// clientSecretHint says where a usable file comes from.
const clientSecretHint = `download it from the Google Cloud console: APIs & Services > Credentials > ` +
	`Create credentials > OAuth client ID > Application type "Desktop app" > Download JSON`

type clientSecretFields struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	AuthURI      string   `json:"auth_uri"`
	TokenURI     string   `json:"token_uri"`
	RedirectURIs []string `json:"redirect_uris"`
}

// LoadClientSecret reads a client_secret.json in Google's format (an
// "installed" or a "web" client) into an oauth2.Config with the given
// scopes. Every error names the file.
//
// For a "web" client whose redirect_uris list a loopback URL with a port
// (a web client only accepts registered redirect URIs, port included),
// RedirectURL is set to the first such URL and Authorize listens there.
// Otherwise RedirectURL is empty and Authorize picks a free port.
func LoadClientSecret(file string, scopes ...string) (*oauth2.Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("OAuth client secret %s: the file does not exist; %s", file, clientSecretHint)
		}
		return nil, fmt.Errorf("OAuth client secret: %w", err)
	}
	return parseClientSecret(file, data, scopes)
}

func parseClientSecret(file string, data []byte, scopes []string) (*oauth2.Config, error) {
	var doc struct {
		Installed *clientSecretFields `json:"installed"`
		Web       *clientSecretFields `json:"web"`
		Type      string              `json:"type"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, fmt.Errorf("%s:%d: not valid JSON: %v; %s", file, line, se, clientSecretHint)
		}
		return nil, fmt.Errorf("%s: not a client secret file: %v; %s", file, err, clientSecretHint)
	}
	var f *clientSecretFields
	kind := ""
	switch {
	case doc.Installed != nil:
		f, kind = doc.Installed, "installed"
	case doc.Web != nil:
		f, kind = doc.Web, "web"
	case doc.Type == "service_account":
		return nil, fmt.Errorf("%s: this is a service account key, not an OAuth client; %s", file, clientSecretHint)
	default:
		return nil, fmt.Errorf("%s: neither an \"installed\" nor a \"web\" OAuth client; %s", file, clientSecretHint)
	}
	if f.ClientID == "" {
		return nil, fmt.Errorf("%s: %s.client_id is missing; %s", file, kind, clientSecretHint)
	}
	cfg := &oauth2.Config{
		ClientID:     f.ClientID,
		ClientSecret: f.ClientSecret,
		Endpoint:     endpoints.Google,
		Scopes:       append([]string(nil), scopes...),
	}
	for name, v := range map[string]*string{"auth_uri": &f.AuthURI, "token_uri": &f.TokenURI} {
		if *v == "" {
			continue
		}
		if u, err := url.Parse(*v); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			return nil, fmt.Errorf("%s: %s.%s %q is not an https URL", file, kind, name, *v)
		}
	}
	if f.AuthURI != "" {
		cfg.Endpoint.AuthURL = f.AuthURI
	}
	if f.TokenURI != "" {
		cfg.Endpoint.TokenURL = f.TokenURI
	}
	if kind == "web" {
		for _, r := range f.RedirectURIs {
			if u, err := url.Parse(r); err == nil && u.Scheme == "http" && isLoopbackHost(u.Hostname()) && u.Port() != "" {
				cfg.RedirectURL = r
				break
			}
		}
	}
	return cfg, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
