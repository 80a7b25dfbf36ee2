package notifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The state file maps question IDs to the notifications that show them:
//
//	{"notifications":{"k3v7qzxa":{"id":12,"server":"<bus id> :1.42"}}}
//
// A notification id means something only to the server that gave it, so
// each entry names that server by bus id and unique name (unique names are
// never reused on one bus; the bus id tells a later bus from this one).

type stateFile struct {
	Notifications map[string]stateEntry `json:"notifications"`
}

type stateEntry struct {
	ID     uint32 `json:"id"`
	Server string `json:"server"`
}

func (d *Desktop) serverKey(owner string) string { return d.busID + " " + owner }

// restore takes over the notifications an earlier process left on the
// current server. Entries for another server are dropped: its
// notifications are gone.
func (d *Desktop) restore() {
	if d.state == "" {
		return
	}
	data, err := os.ReadFile(d.state)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var st stateFile
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		// Only a cache of what is on screen: worst case a question shows twice.
		d.log.Warn("ignoring unreadable notification state file", "path", d.state, "error", err)
		return
	}
	if d.owner == "" {
		return
	}
	for id, e := range st.Notifications {
		if e.Server != d.serverKey(d.owner) || e.ID == 0 || checkID(id) != nil {
			continue
		}
		s := &shown{q: Question{ID: id}, restored: true, note: e.ID, server: d.owner}
		d.questions[id] = s
		d.notes[e.ID] = s
	}
}

// save writes the state file, if there is one. A failure is logged: it
// costs at most a duplicate notification after a restart.
func (d *Desktop) save() {
	if d.state == "" {
		return
	}
	st := stateFile{Notifications: map[string]stateEntry{}}
	for id, s := range d.questions {
		if s.note != 0 && s.server != "" {
			st.Notifications[id] = stateEntry{ID: s.note, Server: d.serverKey(s.server)}
		}
	}
	data, err := json.Marshal(st)
	if err == nil {
		err = writeFileAtomic(d.state, append(data, '\n'))
	}
	if err != nil {
		d.log.Warn("cannot save notification state", "path", d.state, "error", err)
	}
}

// writeFileAtomic replaces path with data: temporary file, fsync, rename,
// fsync of the directory, so a crash leaves the old or the new file whole.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	df, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer df.Close()
	return df.Sync()
}
