package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// The files of Config.StateDir.
const (
	correlationStateFile = "correlation-state.json"
	alertStateFile       = "alert-state.json"
	detectorStateFile    = "detector-state.json"
)

// detectorState is what the Detector keeps of its own: the watermark and
// how far the windows were flushed.
type detectorState struct {
	Version   int       `json:"version"`
	Watermark time.Time `json:"watermark"`
	FlushedAt time.Time `json:"flushed_at"`
}

// SaveState writes the correlation windows, the open alerts and the
// watermark to Config.StateDir (nothing when it is empty). Each file is
// replaced atomically. Close calls it; a long-running process may call it
// periodically to bound what a crash loses.
func (d *Detector) SaveState() error {
	if d.cfg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(d.cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("saving detection state: %w", err)
	}
	d.corrMu.Lock()
	corr, err := d.corr.Snapshot()
	d.corrMu.Unlock()
	if err != nil {
		return fmt.Errorf("saving detection state: %w", err)
	}
	var alerts bytes.Buffer
	if err := d.alert.Snapshot(&alerts); err != nil {
		return fmt.Errorf("saving detection state: %w", err)
	}
	ds := detectorState{Version: 1}
	if wm := d.watermark.Load(); wm != minTime {
		ds.Watermark = time.Unix(0, wm).UTC()
	}
	d.flushMu.Lock()
	if d.flushedAt != 0 {
		ds.FlushedAt = time.Unix(0, d.flushedAt).UTC()
	}
	d.flushMu.Unlock()
	own, err := json.Marshal(&ds)
	if err != nil {
		return fmt.Errorf("saving detection state: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{correlationStateFile, corr},
		{alertStateFile, alerts.Bytes()},
		{detectorStateFile, own},
	} {
		if err := writeAtomic(filepath.Join(d.cfg.StateDir, f.name), f.data); err != nil {
			return fmt.Errorf("saving detection state: %w", err)
		}
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path, syncs it and
// renames it over path.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name) // best effort: the temporary file is useless now
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// restoreState reads what SaveState wrote. Missing files mean a first
// run. A file that cannot be decoded is reported and left aside (renamed
// with a .bad suffix) so that detection starts, with empty state for that
// part; a file that cannot be read at all fails New.
func (d *Detector) restoreState() error {
	if d.cfg.StateDir == "" {
		return nil
	}
	read := func(name string, restore func([]byte) error) error {
		path := filepath.Join(d.cfg.StateDir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("restoring detection state: %w", err)
		}
		if err := restore(data); err != nil {
			bad := path + ".bad"
			d.log.Error("detection state unreadable: starting without it", slog.String("file", path),
				slog.String("moved_to", bad), slog.Any("error", err))
			if rerr := os.Rename(path, bad); rerr != nil {
				return fmt.Errorf("restoring detection state: moving aside %s: %w", path, rerr)
			}
		}
		return nil
	}
	err := read(correlationStateFile, func(b []byte) error {
		d.corrMu.Lock()
		defer d.corrMu.Unlock()
		return d.corr.Restore(b)
	})
	if err != nil {
		return err
	}
	err = read(alertStateFile, func(b []byte) error { return d.alert.Restore(bytes.NewReader(b)) })
	if err != nil {
		return err
	}
	return read(detectorStateFile, func(b []byte) error {
		var ds detectorState
		if err := json.Unmarshal(b, &ds); err != nil {
			return fmt.Errorf("decoding %s: %w", detectorStateFile, err)
		}
		if ds.Version != 1 {
			return fmt.Errorf("decoding %s: version %d, want 1", detectorStateFile, ds.Version)
		}
		if !ds.Watermark.IsZero() {
			d.watermark.Store(ds.Watermark.UnixNano())
		}
		if !ds.FlushedAt.IsZero() {
			d.flushMu.Lock()
			d.flushedAt = ds.FlushedAt.UnixNano()
			d.flushMu.Unlock()
		}
		return nil
	})
}
