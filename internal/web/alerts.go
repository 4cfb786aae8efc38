package web

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/store"
)

// StoreAlerts is the AlertUpdater of a console over a store: it rewrites
// the stored alert document with the new status.
type StoreAlerts struct {
	Store store.Store
}

// SetAlertStatus implements AlertUpdater.
func (a StoreAlerts) SetAlertStatus(ctx context.Context, id, status string) error {
	if !alert.Status(status).Valid() {
		return fmt.Errorf("alert status %q: want open or acknowledged", status)
	}
	h, err := a.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	var al alert.Alert
	if err := json.Unmarshal(h.Source, &al); err != nil {
		return fmt.Errorf("document %s is not an alert: %w", id, err)
	}
	al.Status = alert.Status(status)
	src, err := json.Marshal(&al)
	if err != nil {
		return fmt.Errorf("encoding alert %s: %w", id, err)
	}
	return a.Store.Write(ctx, []store.Doc{{ID: h.ID, Index: h.Index, LogType: h.LogType, TimestampMs: h.TimestampMs, Source: src}})
}
