//go:build !cgo

package web_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/web"
)

// browserStore serves the browser test from the in-memory fake store with
// synthetic documents of every log type and two alerts about them: a
// brute-force alert and one carrying the XSS strings (this build has no
// DuckDB, so no pipeline and no detection).
func browserStore(t *testing.T) *browserData {
	t.Helper()
	docs := web.SyntheticDocsForTest(400)
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	const rule = "SSH brute force followed by a successful login from the same source"
	docs = append(docs, alertDoc(&alert.Alert{
		ID: "synthetic-brute-force", RuleID: "d0220cbb-3c7b-4999-b7fe-3781edb74a13", RuleTitle: rule, Level: "high",
		Tags:        []string{"attack.credential-access", "attack.t1110.001"},
		Threat:      alert.Threat{TacticIDs: []string{"TA0006"}, TacticNames: []string{"credential-access"}, TechniqueIDs: []string{"T1110"}, SubtechniqueIDs: []string{"T1110.001"}},
		Correlation: true, GroupBy: map[string]string{"source.ip": "198.51.100.7"}, KeyFields: map[string]string{"source.ip": "198.51.100.7"},
		DocIDs:    []string{"linux-secure-00000", "linux-secure-00001", "linux-secure-00002"},
		FirstSeen: at, LastSeen: at, WindowStart: at.Truncate(time.Hour), WindowEnd: at.Truncate(time.Hour).Add(time.Hour),
		Count: 3, Status: alert.StatusOpen,
	}), xssAlert(at.Add(time.Minute), "cloudtrail-00001"))
	st := web.NewFakeStoreForTest(docs)
	srv, err := web.New(st, web.Options{Version: "browser-test", Alerts: web.StoreAlerts{Store: st}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &browserData{srv: srv, since: "7d", xssQuery: `user.name:"` + browserXSSScript + `"`, bruteForce: rule}
}
