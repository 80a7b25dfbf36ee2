package oauth

import "errors"

// CheckFiles checks the files of a Gmail account for `rsvp check-config`:
// the client secret exists and parses; the token exists, is mode 0600 (no
// access for group or others), parses and holds a refresh token. It returns
// every problem found, each naming its file; nil means both are usable.
// It does not contact Google.
func CheckFiles(clientSecretFile, tokenFile string) []error {
	var errs []error
	if clientSecretFile == "" {
		errs = append(errs, errors.New("no OAuth client secret file is set; "+clientSecretHint))
	} else if _, err := LoadClientSecret(clientSecretFile); err != nil {
		errs = append(errs, err)
	}
	if tokenFile == "" {
		errs = append(errs, errors.New("no OAuth token file is set"))
	} else if _, err := ReadToken(tokenFile); err != nil {
		errs = append(errs, err)
	}
	return errs
}
